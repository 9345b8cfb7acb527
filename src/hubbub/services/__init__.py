"""Services: every rule and every write. They never import the web framework, a driver, the
wire shapes or the bus; they write through a UnitOfWork (services/unit.py), which commits and
then publishes. app.py builds them."""

from __future__ import annotations

from dataclasses import dataclass

from hubbub.services.accounts import AccountService
from hubbub.services.activity import ActivityService
from hubbub.services.admin import AdminService
from hubbub.services.audit import AuditService
from hubbub.services.bots import BotService
from hubbub.services.classic import ClassicService
from hubbub.services.commands import CommandService
from hubbub.services.email import EmailService
from hubbub.services.erasure import ErasureService
from hubbub.services.exports import ExportService
from hubbub.services.files import FileService
from hubbub.services.health import HealthService
from hubbub.services.invites import InviteService
from hubbub.services.messages import MessageService
from hubbub.services.moderation import ModerationService
from hubbub.services.notifications import NotificationService
from hubbub.services.outgoing import OutgoingService
from hubbub.services.pins import PinService
from hubbub.services.push import PushService
from hubbub.services.retention import RetentionService
from hubbub.services.rooms import RoomService
from hubbub.services.search import SearchService
from hubbub.services.sessions import SessionService
from hubbub.services.slackimport import SlackImportService
from hubbub.services.threads import ThreadService
from hubbub.services.webhooks import WebhookService

__all__ = ["Services"]


@dataclass(frozen=True, slots=True)
class Services:
    classic: ClassicService
    accounts: AccountService
    sessions: SessionService
    rooms: RoomService
    messages: MessageService
    activity: ActivityService
    health: HealthService
    invites: InviteService
    admin: AdminService
    moderation: ModerationService
    audit: AuditService
    retention: RetentionService
    erasure: ErasureService
    exports: ExportService
    threads: ThreadService
    pins: PinService
    webhooks: WebhookService
    bots: BotService
    search: SearchService
    files: FileService
    notifications: NotificationService
    slack_import: SlackImportService
    email: EmailService
    outgoing: OutgoingService
    commands: CommandService
    push: PushService
