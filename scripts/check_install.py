"""Fails the set-up when pyspark's files were overwritten by another version (pyspark-client clobber)."""
import importlib.metadata as md
import sys

import pyspark

want = md.version("pyspark")
if pyspark.__version__ != want:
    sys.exit(f"pyspark reports {pyspark.__version__} but {want} is installed: another package (pyspark-client?) "
             f"overwrote its files; pin both to the same version or reinstall pyspark --no-deps --force-reinstall")
try:
    client = md.version("pyspark-client")
except md.PackageNotFoundError:
    client = None
if client and client != want:
    sys.exit(f"pyspark {want} and pyspark-client {client} share pyspark/: pin them to the same version")
print(f"pyspark {want} ok")
