"""MongoDB storage of auth-service's domain objects, sealing secrets on the way in.

- `profiles`: custom OAuth 2.0 profiles; `client_secret` sealed.
- `authorizations`: one browser dance; link, state, selection and browser cookie stored only as
  SHA-256 hashes; the PKCE verifier and tokens awaiting a site choice sealed; a TTL index on
  `finished_at` removes finished ones once FINISHED_AUTHORIZATION_RETENTION_SECONDS have passed
  (`ensure_retention` retunes it when the setting changes).
- `credentials`: one per app + integration + subject (unique); tokens sealed; `version` bumped
  by every write.
- `profile_usage`: which custom profile each configured (app, integration) uses, from events.
- `disabled_integrations`: the (app, integration) pairs integration-service disabled.

Every `save` is a compare-and-set on `version` (`VersionConflict` when someone wrote first): a
capability consumed by one request cannot be consumed by another, and a refresh that raced a
rotation, a revocation or a disable never overwrites it. Each repository is bound to one
session (a unit of work's transaction) or to none (reads). The vault seals secrets with the
record id and field as associated data; unchanged sealed secrets keep their ciphertext.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure

from auth_service.adapters.credential_cache import CredentialCache
from auth_service.adapters.vault import Vault
from auth_service.domain.authorization import Authorization, Site
from auth_service.domain.credential import Credential, SiteBinding, TokenSet, subject_key
from auth_service.domain.profiles import CustomProfile
from auth_service.domain.secrets import Secret
from platform_core.api import PageQuery
from platform_core.contract_types import Subject
from platform_core.domain import VersionConflict
from platform_core.mongo import Document, IndexSpec
from platform_core.paging import Page, find_page

PROFILES = "profiles"
AUTHORIZATIONS = "authorizations"
CREDENTIALS = "credentials"
LEASES = "refresh_leases"
USAGE = "profile_usage"
DISABLED = "disabled_integrations"

SEALED_FIELDS = {
    CREDENTIALS: ("access_token", "refresh_token"),
    AUTHORIZATIONS: ("code_verifier", "pending_access_token", "pending_refresh_token"),
    PROFILES: ("client_secret",),
}
FINISHED_INDEX = "finished_expiry"
# mongod's codes for an index that exists with other options (IndexOptionsConflict) or keys.
INDEX_CONFLICTS = frozenset({85, 86})

Session = AsyncClientSession | None


def _unique_string(field: str) -> dict[str, object]:
    return {"unique": True, "partialFilterExpression": {field: {"$type": "string"}}}


INDEXES = (
    IndexSpec(PROFILES, [("app_id", ASCENDING), ("created_at", ASCENDING)], "profiles_by_app"),
    IndexSpec(AUTHORIZATIONS, [("link_hash", ASCENDING)], "link_hash", _unique_string("link_hash")),
    IndexSpec(
        AUTHORIZATIONS, [("state_hash", ASCENDING)], "state_hash", _unique_string("state_hash")
    ),
    IndexSpec(
        AUTHORIZATIONS,
        [("selection_hash", ASCENDING)],
        "selection_hash",
        _unique_string("selection_hash"),
    ),
    IndexSpec(AUTHORIZATIONS, [("status", ASCENDING), ("sweep_at", ASCENDING)], "open_by_expiry"),
    IndexSpec(
        AUTHORIZATIONS,
        [("app_id", ASCENDING), ("status", ASCENDING), ("expires_at", ASCENDING)],
        "open_by_app",
    ),
    IndexSpec(
        CREDENTIALS,
        [("app_id", ASCENDING), ("integration", ASCENDING), ("subject_key", ASCENDING)],
        "one_per_subject",
        {"unique": True},
    ),
    IndexSpec(
        CREDENTIALS,
        [("status", ASCENDING), ("tokens_obtained_at", ASCENDING)],
        "keepalive",
    ),
    IndexSpec(CREDENTIALS, [("profile.profile_id", ASCENDING)], "by_profile"),
    IndexSpec(LEASES, [("expires_at", ASCENDING)], "lease_expiry", {"expireAfterSeconds": 300}),
    IndexSpec(USAGE, [("profile_id", ASCENDING)], "usage_by_profile"),
)


async def ensure_retention(db: AsyncDatabase[Document], seconds: int) -> None:
    """The TTL index removing finished authorizations `seconds` after they finished."""
    collection = db[AUTHORIZATIONS]
    try:
        await collection.create_index(
            [("finished_at", ASCENDING)], name=FINISHED_INDEX, expireAfterSeconds=seconds
        )
    except OperationFailure as exc:
        if exc.code not in INDEX_CONFLICTS:
            raise
        await db.command(
            "collMod",
            AUTHORIZATIONS,
            index={"name": FINISHED_INDEX, "expireAfterSeconds": seconds},
        )


def _sealed(vault: Vault, record: str, **secrets: Secret | None) -> Document:
    """The sealed fields of a record; an erased secret leaves no field behind."""
    stored = {field: vault.store(secret, record, field) for field, secret in secrets.items()}
    return {field: sealed for field, sealed in stored.items() if sealed is not None}


async def _compare_and_set(collection: Any, doc: Document, version: int, session: Session) -> None:
    if version == 1:
        try:
            await collection.insert_one(doc, session=session)
        except DuplicateKeyError:
            raise VersionConflict(str(doc["_id"])) from None
        return
    result = await collection.replace_one(
        {"_id": doc["_id"], "version": version - 1}, doc, session=session
    )
    if result.matched_count != 1:
        raise VersionConflict(str(doc["_id"]))


# --- credentials -------------------------------------------------------------------------------


class CredentialRepository:
    def __init__(
        self,
        db: AsyncDatabase[Document],
        session: Session,
        vault: Vault,
        cache: CredentialCache | None = None,
    ) -> None:
        self._credentials = db[CREDENTIALS]
        self._session = session
        self._vault = vault
        # Only outside a transaction: a transaction reads what it is about to decide on.
        self._cache = cache if session is None else None

    async def recent_for_subject(
        self, app_id: str, integration: str, subject: Subject
    ) -> Credential | None:
        if self._cache is None:
            return await self.for_subject(app_id, integration, subject)
        doc = await self._cache.find(app_id, integration, subject_key(subject))
        return self._credential(doc) if doc is not None else None

    async def for_subject(
        self, app_id: str, integration: str, subject: Subject
    ) -> Credential | None:
        doc = await self._credentials.find_one(
            {"app_id": app_id, "integration": integration, "subject_key": subject_key(subject)},
            session=self._session,
        )
        return self._credential(doc) if doc is not None else None

    async def get(self, credential_id: str) -> Credential | None:
        doc = await self._credentials.find_one({"_id": credential_id}, session=self._session)
        return self._credential(doc) if doc is not None else None

    async def save(self, credential: Credential) -> None:
        await _compare_and_set(
            self._credentials, self._document(credential), credential.version, self._session
        )

    async def page(
        self, app_id: str, *, integration: str | None, user_id: str | None, query: PageQuery
    ) -> Page[Credential]:
        where: dict[str, Any] = {"app_id": app_id}
        if integration:
            where["integration"] = integration
        if user_id:
            where["subject_key"] = f"user:{user_id}"
        return await find_page(self._credentials, where, query, self._credential, self._session)

    async def live(
        self, app_id: str, integration: str, subject_key: str | None = None
    ) -> list[Credential]:
        where: dict[str, Any] = {
            "app_id": app_id,
            "integration": integration,
            "status": {"$ne": "revoked"},
        }
        if subject_key is not None:
            where["subject_key"] = subject_key
        cursor = self._credentials.find(where, session=self._session).sort("_id", ASCENDING)
        return [self._credential(doc) async for doc in cursor]

    async def idle_since(self, cutoff: datetime, integrations: list[str], limit: int) -> list[str]:
        cursor = (
            self._credentials.find(
                {
                    "status": "active",
                    "integration": {"$in": integrations},
                    "tokens_obtained_at": {"$lte": cutoff},
                },
                {"_id": 1},
                session=self._session,
            )
            .sort("tokens_obtained_at", ASCENDING)
            .limit(limit)
        )
        return [str(doc["_id"]) async for doc in cursor]

    async def issued_through(self, profile_id: str) -> bool:
        live = {"profile.profile_id": profile_id, "status": {"$ne": "revoked"}}
        return await self._credentials.find_one(live, {"_id": 1}, session=self._session) is not None

    async def set_integration_disabled(self, app_id: str, integration: str, disabled: bool) -> None:
        await self._credentials.update_many(
            {
                "app_id": app_id,
                "integration": integration,
                "integration_disabled": {"$ne": disabled},
            },
            {"$set": {"integration_disabled": disabled}, "$inc": {"version": 1}},
            session=self._session,
        )

    def _credential(self, doc: Document) -> Credential:
        record, vault = str(doc["_id"]), self._vault
        resource = doc.get("resource")
        return Credential(
            credential_id=record,
            app_id=doc["app_id"],
            integration=doc["integration"],
            subject=doc["subject"],
            profile=doc["profile"],
            authorization_id=doc.get("authorization_id"),
            status=doc["status"],
            scopes=tuple(doc.get("scopes") or ()),
            resource=SiteBinding(resource["cloud_id"], resource["site_url"]) if resource else None,
            access_token=vault.secret(doc.get("access_token"), record, "access_token"),
            refresh_token=vault.secret(doc.get("refresh_token"), record, "refresh_token"),
            expires_at=doc.get("expires_at"),
            last_refreshed_at=doc.get("last_refreshed_at"),
            tokens_obtained_at=doc.get("tokens_obtained_at"),
            created_at=doc["created_at"],
            updated_at=doc["updated_at"],
            revoked_at=doc.get("revoked_at"),
            integration_disabled=bool(doc.get("integration_disabled", False)),
            version=doc["version"],
        )

    def _document(self, credential: Credential) -> Document:
        record, vault = credential.credential_id, self._vault
        resource = credential.resource
        return {
            "_id": record,
            "app_id": credential.app_id,
            "integration": credential.integration,
            "subject": credential.subject.model_dump(),
            "subject_key": credential.subject_key,
            "profile": credential.profile.model_dump(),
            "authorization_id": credential.authorization_id,
            "status": credential.status,
            "scopes": list(credential.scopes),
            "resource": (
                {"cloud_id": resource.cloud_id, "site_url": resource.site_url} if resource else None
            ),
            **_sealed(
                vault,
                record,
                access_token=credential.access_token,
                refresh_token=credential.refresh_token,
            ),
            "expires_at": credential.expires_at,
            "last_refreshed_at": credential.last_refreshed_at,
            "tokens_obtained_at": credential.tokens_obtained_at,
            "created_at": credential.created_at,
            "updated_at": credential.updated_at,
            "revoked_at": credential.revoked_at,
            "integration_disabled": credential.integration_disabled,
            "version": credential.version,
        }


# --- authorizations ----------------------------------------------------------------------------


class AuthorizationRepository:
    def __init__(self, db: AsyncDatabase[Document], session: Session, vault: Vault) -> None:
        self._authorizations = db[AUTHORIZATIONS]
        self._session = session
        self._vault = vault

    async def add(self, authorization: Authorization) -> None:
        await self._authorizations.insert_one(self._document(authorization), session=self._session)

    async def get(self, authorization_id: str) -> Authorization | None:
        return await self._one({"_id": authorization_id})

    async def by_link(self, link_hash: str) -> Authorization | None:
        return await self._one({"link_hash": link_hash})

    async def by_state(self, state_hash: str) -> Authorization | None:
        return await self._one({"state_hash": state_hash})

    async def by_selection(self, selection_hash: str) -> Authorization | None:
        return await self._one({"selection_hash": selection_hash})

    async def save(self, authorization: Authorization) -> None:
        await _compare_and_set(
            self._authorizations,
            self._document(authorization),
            authorization.version,
            self._session,
        )

    async def due_for_sweep(self, now: datetime, limit: int) -> list[Authorization]:
        cursor = self._authorizations.find(
            {"status": {"$in": ["pending", "site_selection_required"]}, "sweep_at": {"$lte": now}},
            session=self._session,
        ).limit(limit)
        return [self._authorization(doc) async for doc in cursor]

    async def open_count(self, app_id: str, now: datetime) -> int:
        # An unclicked link past its expiry is no longer open, whatever the sweeper did yet.
        return await self._authorizations.count_documents(
            {
                "app_id": app_id,
                "$or": [
                    {"status": "pending", "clicked_at": None, "expires_at": {"$gt": now}},
                    {"status": "pending", "clicked_at": {"$ne": None}},
                    {"status": "site_selection_required"},
                ],
            },
            session=self._session,
        )

    async def _one(self, where: dict[str, Any]) -> Authorization | None:
        doc = await self._authorizations.find_one(where, session=self._session)
        return self._authorization(doc) if doc is not None else None

    def _authorization(self, doc: Document) -> Authorization:
        record, vault = str(doc["_id"]), self._vault
        pending = None
        if doc.get("pending_access_token"):
            access = vault.secret(doc["pending_access_token"], record, "pending_access_token")
            assert access is not None
            pending = TokenSet(
                access_token=access,
                refresh_token=vault.secret(
                    doc.get("pending_refresh_token"), record, "pending_refresh_token"
                ),
                expires_at=doc.get("pending_expires_at"),
                scopes=tuple(doc.get("pending_scopes") or ()),
            )
        fields = {
            key: doc.get(key)
            for key in Authorization.model_fields
            if key not in {"authorization_id", "code_verifier", "pending_tokens", "sites"}
            and doc.get(key) is not None
        }
        return Authorization(
            **fields,
            authorization_id=record,
            code_verifier=vault.secret(doc.get("code_verifier"), record, "code_verifier"),
            sites=tuple(Site(**site) for site in doc.get("sites") or ()),
            pending_tokens=pending,
        )

    def _document(self, authorization: Authorization) -> Document:
        record = authorization.authorization_id
        doc = authorization.model_dump(
            exclude={"authorization_id", "code_verifier", "pending_tokens", "sites"}
        )
        pending = authorization.pending_tokens
        doc.update(
            _id=record,
            sites=[vars(site) for site in authorization.sites],
            # The TTL index removes a finished dance once its retention has passed.
            finished_at=None if authorization.is_open else _finished(authorization),
            **_sealed(
                self._vault,
                record,
                code_verifier=authorization.code_verifier,
                pending_access_token=pending.access_token if pending else None,
                pending_refresh_token=pending.refresh_token if pending else None,
            ),
        )
        if pending is not None:
            doc.update(pending_expires_at=pending.expires_at, pending_scopes=list(pending.scopes))
        return doc


def _finished(authorization: Authorization) -> datetime:
    return (
        authorization.completed_at
        or authorization.failed_at
        or authorization.clicked_at
        or authorization.expires_at
    )


# --- profiles ----------------------------------------------------------------------------------


class ProfileRepository:
    def __init__(self, db: AsyncDatabase[Document], session: Session, vault: Vault) -> None:
        self._profiles = db[PROFILES]
        self._session = session
        self._vault = vault

    async def add(self, profile: CustomProfile) -> None:
        await self._profiles.insert_one(self._document(profile), session=self._session)

    async def get(self, app_id: str, profile_id: str) -> CustomProfile | None:
        doc = await self._profiles.find_one(
            {"_id": profile_id, "app_id": app_id, "deleted_at": None}, session=self._session
        )
        return self._profile(doc) if doc is not None else None

    async def page(self, app_id: str, query: PageQuery) -> Page[CustomProfile]:
        return await find_page(
            self._profiles,
            {"app_id": app_id, "deleted_at": None},
            query,
            self._profile,
            self._session,
        )

    async def save(self, profile: CustomProfile) -> None:
        await self._profiles.replace_one(
            {"_id": profile.profile_id}, self._document(profile), session=self._session
        )

    def _profile(self, doc: Document) -> CustomProfile:
        record = str(doc["_id"])
        fields = {
            key: doc.get(key)
            for key in CustomProfile.model_fields
            if key not in {"profile_id", "client_secret"}
        }
        return CustomProfile(
            **fields,
            profile_id=record,
            client_secret=self._vault.secret(doc.get("client_secret"), record, "client_secret"),
        )

    def _document(self, profile: CustomProfile) -> Document:
        record = profile.profile_id
        doc = profile.model_dump(exclude={"profile_id", "client_secret"})
        doc.update(
            _id=record,
            type="oauth2",
            **_sealed(self._vault, record, client_secret=profile.client_secret),
        )
        return doc


# --- what is learnt from integration-service's events ------------------------------------------


class ProfileUsageRepository:
    def __init__(self, db: AsyncDatabase[Document], session: Session) -> None:
        self._usage = db[USAGE]
        self._session = session

    async def record(self, app_id: str, integration: str, profile_id: str | None) -> None:
        await self._usage.replace_one(
            {"_id": f"{app_id}|{integration}"},
            {"app_id": app_id, "integration": integration, "profile_id": profile_id},
            upsert=True,
            session=self._session,
        )

    async def forget(self, app_id: str, integration: str) -> None:
        await self._usage.delete_one({"_id": f"{app_id}|{integration}"}, session=self._session)

    async def in_use(self, profile_id: str) -> bool:
        found = await self._usage.find_one(
            {"profile_id": profile_id}, {"_id": 1}, session=self._session
        )
        return found is not None


class DisabledIntegrationRepository:
    def __init__(self, db: AsyncDatabase[Document], session: Session) -> None:
        self._disabled = db[DISABLED]
        self._session = session

    async def set_disabled(self, app_id: str, integration: str, disabled: bool) -> None:
        key = {"_id": f"{app_id}|{integration}"}
        if disabled:
            await self._disabled.replace_one(
                key,
                {"app_id": app_id, "integration": integration},
                upsert=True,
                session=self._session,
            )
        else:
            await self._disabled.delete_one(key, session=self._session)

    async def is_disabled(self, app_id: str, integration: str) -> bool:
        found = await self._disabled.find_one(
            {"_id": f"{app_id}|{integration}"}, {"_id": 1}, session=self._session
        )
        return found is not None


@dataclass(frozen=True)
class MongoRepositories:
    credentials: CredentialRepository
    authorizations: AuthorizationRepository
    profiles: ProfileRepository
    usage: ProfileUsageRepository
    disabled: DisabledIntegrationRepository


def repositories_with(
    vault: Vault, cache: CredentialCache | None = None
) -> Callable[[AsyncDatabase[Document], Session], MongoRepositories]:
    """The repository factory of auth-service's unit of work, sealing with `vault`; reads
    outside a transaction may use `cache` for the token fast path."""

    def build(db: AsyncDatabase[Document], session: Session) -> MongoRepositories:
        return MongoRepositories(
            CredentialRepository(db, session, vault, cache),
            AuthorizationRepository(db, session, vault),
            ProfileRepository(db, session, vault),
            ProfileUsageRepository(db, session),
            DisabledIntegrationRepository(db, session),
        )

    return build
