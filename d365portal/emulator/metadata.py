"""Seed metadata: option-set labels per language, state/status pairs, and the tenant's own columns.

Labels are data, not code: a tenant's custom labels ("Moderado", "En Revisión") are seeded here and
come back as formatted values, exactly as Dataverse returns a tenant's customised option sets.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from d365portal.emulator.schema import Column, lookup

Labels = dict[str, dict[str, dict[int, str]]]  # entity set → column → value → label

ES: Labels = {
    "incidents": {
        "prioritycode": {1: "Alta", 2: "Moderado", 3: "Baja"},
        "caseorigincode": {1: "Teléfono", 2: "Correo electrónico", 3: "Web"},
        "casetypecode": {1: "Pregunta", 2: "Problema", 3: "Solicitud"},
        "statecode": {0: "Activo", 1: "Resuelto", 2: "Cancelado"},
        "statuscode": {
            1: "En Revisión",
            2: "En espera",
            3: "Esperando detalles",
            4: "Investigando",
            5: "Problema resuelto",
            1000: "Información proporcionada",
            6: "Cancelado",
            2000: "Combinado",
        },
    },
    "entitlements": {
        "statecode": {0: "Borrador", 1: "Activo", 2: "Cancelado", 3: "Caducado", 4: "En espera"},
        "statuscode": {0: "Borrador", 1: "Activo", 2: "Cancelado", 3: "Caducado", 1200: "En espera"},
        "allocationtypecode": {0: "Número de casos", 1: "Número de horas"},
        "decreaseremainingon": {0: "Resolución de caso", 1: "Creación de caso"},
    },
    "accounts": {"statecode": {0: "Activo", 1: "Inactivo"}, "statuscode": {1: "Activo", 2: "Inactivo"}},
    "contacts": {"statecode": {0: "Activo", 1: "Inactivo"}, "statuscode": {1: "Activo", 2: "Inactivo"}},
    "incidentresolutions": {
        "statecode": {0: "Abierta", 1: "Completada", 2: "Cancelada"},
        "statuscode": {1: "Abierta", 2: "Completada", 3: "Cancelada"},
    },
    "adx_portalcomments": {
        "statecode": {0: "Abierta", 1: "Completada", 2: "Cancelada"},
        "statuscode": {1: "Abierta", 2: "Completada", 3: "Cancelada"},
        "adx_portalcommentdirectioncode": {1: "Entrante", 2: "Saliente"},
    },
    "adx_webroles": {"statecode": {0: "Activo", 1: "Inactivo"}, "statuscode": {1: "Activo", 2: "Inactivo"}},
    "knowledgearticles": {
        "statecode": {0: "Borrador", 1: "Aprobado", 2: "Programado", 3: "Publicado", 4: "Expirado",
                      5: "Archivado", 6: "Descartado"},
        "statuscode": {2: "Borrador", 5: "Aprobado", 6: "Programado", 7: "Publicado", 10: "Expirado",
                       12: "Archivado", 13: "Descartado"},
    },  # fmt: skip
    "feedback": {"statecode": {0: "Abierto", 1: "Cerrado"}, "statuscode": {1: "Abierto", 2: "Cerrado"},
                 "source": {0: "Interno", 1: "Portal"}},  # fmt: skip
    "adx_casedeflections": {"statecode": {0: "Activo", 1: "Inactivo"},
                            "statuscode": {1: "Activo", 2: "Inactivo"}},  # fmt: skip
    "languagelocales": {"statecode": {0: "Activo", 1: "Inactivo"},
                        "statuscode": {1: "Activo", 2: "Inactivo"}},  # fmt: skip
    "adx_externalidentities": {"statecode": {0: "Activo", 1: "Inactivo"},
                               "statuscode": {1: "Activo", 2: "Inactivo"}},  # fmt: skip
    "activityparties": {"participationtypemask": dict(enumerate(
        ("Remitente", "Destinatario", "Destinatario CC", "Destinatario CCO", "Asistente requerido",
         "Asistente opcional", "Organizador", "Referente", "Cliente", "Recurso"), start=1))},
}

EN: Labels = {
    "incidents": {
        "prioritycode": {1: "High", 2: "Normal", 3: "Low"},
        "caseorigincode": {1: "Phone", 2: "Email", 3: "Web"},
        "casetypecode": {1: "Question", 2: "Problem", 3: "Request"},
        "statecode": {0: "Active", 1: "Resolved", 2: "Canceled"},
        "statuscode": {
            1: "In Progress",
            2: "On Hold",
            3: "Waiting for Details",
            4: "Researching",
            5: "Problem Solved",
            1000: "Information Provided",
            6: "Cancelled",
            2000: "Merged",
        },
    },
    "entitlements": {
        "statecode": {0: "Draft", 1: "Active", 2: "Cancelled", 3: "Expired", 4: "Waiting"},
        "statuscode": {0: "Draft", 1: "Active", 2: "Cancelled", 3: "Expired", 1200: "Waiting"},
        "allocationtypecode": {0: "Number of cases", 1: "Number of hours"},
        "decreaseremainingon": {0: "Case Resolution", 1: "Case Creation"},
    },
    "accounts": {"statecode": {0: "Active", 1: "Inactive"}, "statuscode": {1: "Active", 2: "Inactive"}},
    "contacts": {"statecode": {0: "Active", 1: "Inactive"}, "statuscode": {1: "Active", 2: "Inactive"}},
    "incidentresolutions": {
        "statecode": {0: "Open", 1: "Completed", 2: "Canceled"},
        "statuscode": {1: "Open", 2: "Completed", 3: "Canceled"},
    },
    "adx_portalcomments": {
        "statecode": {0: "Open", 1: "Completed", 2: "Canceled"},
        "statuscode": {1: "Open", 2: "Completed", 3: "Canceled"},
        "adx_portalcommentdirectioncode": {1: "Incoming", 2: "Outgoing"},
    },
    "adx_webroles": {"statecode": {0: "Active", 1: "Inactive"}, "statuscode": {1: "Active", 2: "Inactive"}},
    "knowledgearticles": {
        "statecode": {0: "Draft", 1: "Approved", 2: "Scheduled", 3: "Published", 4: "Expired",
                      5: "Archived", 6: "Discarded"},
        "statuscode": {2: "Draft", 5: "Approved", 6: "Scheduled", 7: "Published", 10: "Expired",
                       12: "Archived", 13: "Discarded"},
    },  # fmt: skip
    "feedback": {"statecode": {0: "Open", 1: "Closed"}, "statuscode": {1: "Open", 2: "Closed"},
                 "source": {0: "Internal", 1: "Portal"}},  # fmt: skip
    "adx_casedeflections": {"statecode": {0: "Active", 1: "Inactive"},
                            "statuscode": {1: "Active", 2: "Inactive"}},  # fmt: skip
    "languagelocales": {"statecode": {0: "Active", 1: "Inactive"},
                        "statuscode": {1: "Active", 2: "Inactive"}},  # fmt: skip
    "adx_externalidentities": {"statecode": {0: "Active", 1: "Inactive"},
                               "statuscode": {1: "Active", 2: "Inactive"}},  # fmt: skip
    "activityparties": {"participationtypemask": dict(enumerate(
        ("Sender", "To Recipient", "CC Recipient", "BCC Recipient", "Required attendee",
         "Optional attendee", "Organizer", "Regarding", "Customer", "Resource"), start=1))},
}

# statecode → allowed statuscodes (and the default one)
STATES: dict[str, dict[int, tuple[int, ...]]] = {
    "incidents": {0: (1, 2, 3, 4), 1: (5, 1000), 2: (6, 2000)},
    "entitlements": {0: (0,), 1: (1,), 2: (2,), 3: (3,), 4: (1200,)},
    "accounts": {0: (1,), 1: (2,)},
    "contacts": {0: (1,), 1: (2,)},
    "incidentresolutions": {0: (1,), 1: (2,), 2: (3,)},
    "adx_portalcomments": {0: (1,), 1: (2,), 2: (3,)},
    "adx_webroles": {0: (1,), 1: (2,)},
    "knowledgearticles": {0: (2,), 1: (5,), 2: (6,), 3: (7,), 4: (10,), 5: (12,), 6: (13,)},
    "feedback": {0: (1,), 1: (2,)},
    "adx_casedeflections": {0: (1,), 1: (2,)},
    "languagelocales": {0: (1,), 1: (2,)},
    "adx_externalidentities": {0: (1,), 1: (2,)},
}

STATE_ENUM_NAMES = {"incidents": "IncidentState", "entitlements": "EntitlementState"}

# Languages as Dataverse numbers them (LCIDs), in the order the emulator reports them installed.
LANGUAGE_CODES = {"es-ES": 3082, "en-US": 1033}


@dataclass(frozen=True)
class SeedMetadata:
    """What a tenant customises: option labels per language and its own lookup columns."""

    labels: dict[str, Labels] = field(default_factory=lambda: {"es-ES": ES, "en-US": EN})
    custom_lookups: dict[str, list[Column]] = field(
        default_factory=lambda: {"incidents": [lookup("ino_asociado", ("account", "ino_Asociado"))]}
    )

    def options(self, entity_set: str, column: str) -> dict[int, str] | None:
        """The valid values of a choice column (labels in es-ES), or None if it is not a choice."""
        return self.labels["es-ES"].get(entity_set, {}).get(column)

    def label(self, language: str, entity_set: str, column: str, value: int) -> str | None:
        """The label of `value` in `language` (falling back to es-ES)."""
        labels = self.labels.get(language) or self.labels["es-ES"]
        return labels.get(entity_set, {}).get(column, {}).get(value)

    def copy(self) -> SeedMetadata:
        """A copy whose labels can change (UpdateOptionValue) without touching the seed."""
        return SeedMetadata(labels=copy.deepcopy(self.labels), custom_lookups=self.custom_lookups)

    def set_label(self, language: str, entity_set: str, column: str, value: int, label: str) -> None:
        """Change (or add) the label of an existing option in one language."""
        self.labels.setdefault(language, {}).setdefault(entity_set, {}).setdefault(column, {})[value] = label


DEMO_METADATA = SeedMetadata()
