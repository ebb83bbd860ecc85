"""Runtime helpers generated code imports (``from tenantdb import codecs``).

Placeholder on the codegen branch until ``tenantdb/_codecs.py`` is renamed to this public
module on main; the merge keeps main's version.
"""

from tenantdb._codecs import *  # noqa: F403
from tenantdb._codecs import __all__ as _all

__all__ = _all  # noqa: PLE0605 - the same names as tenantdb._codecs
