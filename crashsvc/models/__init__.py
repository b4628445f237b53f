"""SQLAlchemy models, one module per domain; importing this package registers all tables."""

from crashsvc.models.apps import App, Membership
from crashsvc.models.audit import AuditEvent
from crashsvc.models.base import Base
from crashsvc.models.groups import Group, GroupBreakdown, GroupDayCount, GroupHistory, GroupInstall, GroupNote
from crashsvc.models.reports import Report
from crashsvc.models.symbols import ReportMissingSymbol, SymbolFile
from crashsvc.models.users import ApiToken, User

__all__ = [
    "ApiToken",
    "App",
    "AuditEvent",
    "Base",
    "Group",
    "GroupBreakdown",
    "GroupDayCount",
    "GroupHistory",
    "GroupInstall",
    "GroupNote",
    "Membership",
    "Report",
    "ReportMissingSymbol",
    "SymbolFile",
    "User",
]
