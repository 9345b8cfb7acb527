"""File storage: where uploaded bytes live (a local directory, or S3-compatible object storage).

`base.FileStorage` is the small interface every backend implements; the contract suite
(tests/contract/test_blobs.py) runs against each. Only hubbub.app names a concrete backend.
"""

from hubbub.blobs.base import FileStorage, NotStored, Spooled, spool

__all__ = ["FileStorage", "NotStored", "Spooled", "spool"]
