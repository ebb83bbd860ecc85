"""The RDS Data API transport (aioboto3): lane, transaction, parameter encoding, row decoding,
error mapping, the HTTP client, retries and the ``DataApi`` configuration."""

__all__ = ()
