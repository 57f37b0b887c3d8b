"""Tests of model/: parity with transformers, document masking, loss, export, flavors."""
