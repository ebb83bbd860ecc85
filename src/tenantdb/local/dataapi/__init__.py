"""The local RDS Data API gateway: AWS's rds-data wire protocol over a real PostgreSQL.

See ``docs/gateway.md``. ``LocalDataApi`` is also exported from ``tenantdb.local``.
"""

from tenantdb.local.dataapi._faults import Fault
from tenantdb.local.dataapi._gateway import LocalDataApi

__all__ = ("Fault", "LocalDataApi")
