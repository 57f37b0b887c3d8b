"""`python -m model [FLAVOR ...]`: print each flavor's shape, exact parameter count and FLOPs per token."""
from model.config import main

main()
