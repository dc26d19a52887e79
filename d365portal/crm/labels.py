"""Option labels in every installed language, from Dataverse's table definitions (DESIGN decision 11).

Formatted values come in the application user's language only, so a bilingual portal takes the
labels of its choices from metadata: for each table, one request per attribute type
(`…/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata`, State, Status) with
`$expand=OptionSet($select=Options)`, reading each option's `Label.LocalizedLabels` by `LanguageCode`.
The organization's attachment limits (`maxuploadfilesize`, `blockedattachments`) come with them.
Metadata is not business data: `LabelCatalog` loads it once per process, keeps it for the configured
time, and refreshes it in a background thread, so no page view waits for it or pays a request. Until
the first load has finished, and for any label the tenant did not translate, pages fall back to the
user-language label, then to Dataverse's formatted value.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from d365portal.crm.conversation import AttachmentLimits, read_attachment_limits
from d365portal.crm.models import Choice
from d365portal.dataverse import odata
from d365portal.dataverse.errors import DataverseError

if TYPE_CHECKING:  # pragma: no cover
    from d365portal.dataverse.client import DataverseClient

log = logging.getLogger(__name__)

LANGUAGE_CODES = {"es-ES": 3082, "en-US": 1033}
# The choices the portal shows, by table; the notifier and the coming pages add theirs here.
CHOICES: Mapping[str, tuple[str, ...]] = {
    "incident": ("prioritycode", "caseorigincode", "casetypecode", "statecode", "statuscode"),
    "entitlement": ("statecode", "statuscode", "allocationtypecode", "decreaseremainingon"),
    "adx_portalcomment": ("adx_portalcommentdirectioncode",),
}
_CASTS = ("PicklistAttributeMetadata", "StateAttributeMetadata", "StatusAttributeMetadata")
Key = tuple[str, str, int]  # (table logical name, attribute, value)


@dataclass(frozen=True)
class OptionLabels:
    """Labels by (table, attribute, value): each language's, and the one in the user's language."""

    localized: dict[Key, dict[int, str]] = field(default_factory=dict)
    user: dict[Key, str] = field(default_factory=dict)

    def label(self, entity: str, attribute: str, value: int, language_code: int) -> str | None:
        """The label in `language_code`, else the user-language label, else None."""
        key = (entity, attribute, value)
        return self.localized.get(key, {}).get(language_code) or self.user.get(key)


class LabelRepository:
    """Reads option labels from Dataverse's metadata (one request per table and attribute type)."""

    def __init__(self, client: DataverseClient, choices: Mapping[str, tuple[str, ...]] = CHOICES) -> None:
        self._client = client
        self._choices = choices

    def load(self) -> OptionLabels:
        """Every label of the portal's choices, in every language the tenant has."""
        labels = OptionLabels()
        for entity, attributes in self._choices.items():
            wanted = odata.or_(*(odata.eq("LogicalName", a) for a in attributes))
            for cast in _CASTS:
                path = (
                    f"EntityDefinitions(LogicalName={odata.literal(odata.identifier(entity))})"
                    f"/Attributes/Microsoft.Dynamics.CRM.{cast}"
                )
                params = {
                    "$select": "LogicalName", "$filter": wanted.text, "$expand": "OptionSet($select=Options)"
                }
                body = self._client.get(path, params, annotations=False)
                for attribute in body.get("value", []):
                    _read_options(labels, entity, attribute)
        return labels

    def attachment_limits(self) -> AttachmentLimits:
        """The organization's upload limits (one request, with the labels)."""
        return read_attachment_limits(self._client)

    def languages(self) -> list[int]:
        """The language codes installed in the environment (RetrieveAvailableLanguages)."""
        body = self._client.call_function("RetrieveAvailableLanguages")
        return [int(code) for code in body.get("LocaleIds", [])]


def _read_options(labels: OptionLabels, entity: str, attribute: dict[str, object]) -> None:
    name = str(attribute.get("LogicalName") or "")
    option_set = attribute.get("OptionSet")
    options = option_set.get("Options") if isinstance(option_set, dict) else None
    for option in options if isinstance(options, list) else []:
        value, label = option.get("Value"), option.get("Label") or {}
        if not isinstance(value, int) or not isinstance(label, dict):
            continue
        key = (entity, name, value)
        for localized in label.get("LocalizedLabels") or []:
            if isinstance(localized, dict) and localized.get("Label"):
                labels.localized.setdefault(key, {})[int(localized["LanguageCode"])] = str(localized["Label"])
        user = label.get("UserLocalizedLabel")
        if isinstance(user, dict) and user.get("Label"):
            labels.user[key] = str(user["Label"])


class LabelCatalog:
    """The labels of one process: loaded in the background, kept `max_age` seconds, then refreshed
    in the background while pages keep using the labels they have."""

    def __init__(
        self, repository: LabelRepository, max_age: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._repository = repository
        self._max_age = max_age
        self._clock = clock
        self._labels = OptionLabels()
        self._limits = AttachmentLimits()  # Dataverse's defaults until the organization is read
        self._loaded_at: float | None = None
        self._refreshing = False
        self._lock = threading.Lock()
        self.refreshes = 0  # successful loads (for tests and the bench)

    @property
    def loaded(self) -> bool:
        """Whether labels have been read at least once."""
        return self._loaded_at is not None

    def refresh_now(self) -> None:
        """Load the labels in this thread (start-up checks, tests); a failure keeps the old labels."""
        try:
            labels = self._repository.load()
            limits = self._repository.attachment_limits()
        except DataverseError as exc:
            log.warning("option labels could not be read from Dataverse's metadata: %s", exc)
            with self._lock:
                self._refreshing = False
            return
        except Exception:  # a background thread must not die with the refresh marked as running
            log.exception("option labels could not be read (unexpected error); the old labels stay")
            with self._lock:
                self._refreshing = False
            return
        with self._lock:
            self._labels, self._limits = labels, limits
            self._loaded_at, self._refreshing = self._clock(), False
            self.refreshes += 1

    def ensure_fresh(self) -> None:
        """Start a background refresh when the labels are missing or older than `max_age`."""
        with self._lock:
            stale = self._loaded_at is None or self._clock() - self._loaded_at >= self._max_age
            if not stale or self._refreshing:
                return
            self._refreshing = True
        threading.Thread(target=self.refresh_now, name="option-labels", daemon=True).start()

    @property
    def attachment_limits(self) -> AttachmentLimits:
        """The tenant's upload limits (organization `maxuploadfilesize`, `blockedattachments`)."""
        return self._limits

    def label(self, choice: Choice, language: str) -> str:
        """`choice`'s label in `language`: metadata, then the user-language label, then the
        formatted value Dataverse sent."""
        if choice.entity and choice.attribute:
            code = LANGUAGE_CODES.get(language, 0)
            found = self._labels.label(choice.entity, choice.attribute, choice.value, code)
            if found:
                return found
        return choice.label
