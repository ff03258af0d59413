"""Every model module, imported once so that SQLAlchemy and Alembic see the whole schema."""

from portal.agencies import models as agencies  # noqa: F401
from portal.agreements import models as agreements  # noqa: F401
from portal.audit import models as audit  # noqa: F401
from portal.auth import models as auth  # noqa: F401
from portal.concerns import models as concerns  # noqa: F401
from portal.core import pagecache  # noqa: F401
from portal.escalations import models as escalations  # noqa: F401
from portal.intelligence import models as intelligence  # noqa: F401
from portal.meetings import models as meetings  # noqa: F401
from portal.notifications import models as notifications  # noqa: F401
from portal.people import models as people  # noqa: F401
from portal.privacy import models as privacy  # noqa: F401
