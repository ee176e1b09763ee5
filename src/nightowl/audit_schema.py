"""Arrow schemas of the cloud tables beside ``auth_events``: directory audit, mailbox access, accounts,
credential uses.

Sources fill them (``sources/entra_audit.py``, ``sources/office_activity.py``,
``sources/entra_accounts.py``); the ``cloud_*`` detections and ``exposure.py`` read them. Each
reader does the format-specific parsing (JSON-in-strings, Microsoft's quoted modified-property
values, key descriptions) once, so the SQL sees plain columns. Like ``auth_events`` every table
carries ``source_format``, ``record_ref`` and ``event_uid`` (the store deduplicates on the last).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

TARGET = pa.struct(
    [
        ("id", pa.string()),
        ("name", pa.string()),
        ("type", pa.string()),
        ("upn", pa.string()),
    ]
)
MODIFIED_PROPERTY = pa.struct(
    [
        ("target", pa.int32()),  # index into targets
        ("name", pa.string()),
        ("old_value", pa.string()),
        ("new_value", pa.string()),
    ]
)
KEY_VALUE = pa.struct([("key", pa.string()), ("value", pa.string())])
STRINGS = pa.list_(pa.string())

_COMMON: list[tuple[str, pa.DataType, str]] = [
    ("source_format", pa.string(), "the reader that produced the row, e.g. entra-audit-json"),
    ("record_ref", pa.string(), "input file + line / record number, for the analyst to find the raw record"),
    ("event_uid", pa.string(), "the source's own id for the record (deduplication key with source_format)"),
]

# (name, arrow type, meaning)
DIRECTORY_AUDIT_COLUMNS: list[tuple[str, pa.DataType, str]] = [
    ("time", pa.timestamp("us"), "activityDateTime / ActivityDateTime (UTC)"),
    *_COMMON,
    (
        "activity",
        pa.string(),
        "activityDisplayName exactly as Microsoft writes it (en dashes, trailing spaces)",
    ),
    ("operation_type", pa.string(), "operationType / AADOperationType: Add, Update, Assign, Delete, ..."),
    ("category", pa.string(), "ApplicationManagement, UserManagement, RoleManagement, ..."),
    ("result", pa.string(), "success, failure, timeout, unknownFutureValue (lowercased)"),
    ("result_reason", pa.string(), "resultReason"),
    ("logged_by_service", pa.string(), "Core Directory, PIM, Authentication Methods, ..."),
    ("correlation_id", pa.string(), "groups the records of one admin action (a consent writes several)"),
    ("actor_type", pa.string(), "user or app: who initiated the activity"),
    ("actor_upn", pa.string(), "initiatedBy.user.userPrincipalName, lowercased"),
    ("actor_id", pa.string(), "object id of the initiating user, or service principal id of the app"),
    ("actor_name", pa.string(), "display name of the initiating user or app"),
    ("actor_app_id", pa.string(), "initiatedBy.app.appId when an application initiated it"),
    ("actor_ip", pa.string(), "initiatedBy.user.ipAddress / app.ipAddress"),
    ("user_agent", pa.string(), "User-Agent from additionalDetails"),
    ("target_type", pa.string(), "type of the first target: Application, ServicePrincipal, User, Role, ..."),
    ("target_id", pa.string(), "object id of the first target"),
    ("target_name", pa.string(), "display name of the first target"),
    ("target_upn", pa.string(), "userPrincipalName of the first target of type User (lowercased)"),
    ("targets", pa.list_(TARGET), "every target resource (id, name, type, upn)"),
    (
        "modified_properties",
        pa.list_(MODIFIED_PROPERTY),
        "every modified property; JSON string quotes removed",
    ),
    ("additional_details", pa.list_(KEY_VALUE), "additionalDetails key/value pairs"),
    ("app_object_id", pa.string(), "the client application's object id (application or service principal)"),
    ("app_id", pa.string(), "the client application's appId when the record names it"),
    ("app_name", pa.string(), "the client application's display name when the record names it"),
    (
        "resource_id",
        pa.string(),
        "the resource service principal a permission is granted on (Graph, Exchange)",
    ),
    ("resource_name", pa.string(), "its display name"),
    (
        "resource_app_id",
        pa.string(),
        "its appId: 00000003-0000-0000-c000-000000000000 is Graph, "
        "00000002-0000-0ff1-ce00-000000000000 Exchange Online",
    ),
    ("permissions", STRINGS, "scopes or app role values of the grant after the change"),
    ("permissions_added", STRINGS, "scopes or app roles the change added (new minus old)"),
    ("app_role_id", pa.string(), "AppRole.Id of an app role assignment"),
    ("consent_type", pa.string(), "AllPrincipals (tenant-wide) or Principal (one user)"),
    ("is_admin_consent", pa.bool_(), "ConsentContext.IsAdminConsent"),
    ("is_app_only", pa.bool_(), "ConsentContext.IsAppOnly: application permissions, no user involved"),
    ("credentials_before", pa.int32(), "credentials listed in the old KeyDescription; null when not shown"),
    ("credentials_after", pa.int32(), "credentials listed in the new KeyDescription; null when not shown"),
    ("credentials_added", pa.int32(), "credentials in the new KeyDescription that the old one did not list"),
    ("credential_types", STRINGS, "KeyType of the credentials added: Password, AsymmetricX509Cert, ..."),
    (
        "credential_key_ids_added",
        STRINGS,
        "KeyIdentifier of each credential added (lowercased): the key id sign-ins name",
    ),
    ("role_name", pa.string(), "Role.DisplayName of a directory role assignment"),
    ("role_template_id", pa.string(), "Role.TemplateId (the built-in role's id, same in every tenant)"),
    ("tenant_id", pa.string(), "tenant id when the export has it"),
]

MAIL_ACCESS_COLUMNS: list[tuple[str, pa.DataType, str]] = [
    ("time", pa.timestamp("us"), "CreationTime / TimeGenerated / Timestamp (UTC)"),
    *_COMMON,
    ("operation", pa.string(), "MailItemsAccessed, Send, SendAs, New-InboxRule, ..."),
    ("workload", pa.string(), "Exchange"),
    (
        "user_id",
        pa.string(),
        "UserId: the account that acted, lowercased (a UPN, or an app's id for app-only access)",
    ),
    (
        "user_type",
        pa.string(),
        "UserType as the source writes it (Regular / 0, Admin / 2, Application / 5, ...)",
    ),
    ("mailbox_owner", pa.string(), "MailboxOwnerUPN, lowercased"),
    ("mailbox_guid", pa.string(), "MailboxGuid"),
    ("logon_type", pa.string(), "Owner, Delegate or Admin (numbers 0, 1, 2 in the API are mapped)"),
    ("app_id", pa.string(), "AppId: the API used (Graph 00000003-..., Exchange 00000002-0000-0ff1-...)"),
    ("client_app_id", pa.string(), "ClientAppId: the OAuth application that called it"),
    ("client_app_name", pa.string(), "the application's display name when the record has it"),
    ("client_info", pa.string(), "ClientInfoString: Client=REST, Client=WebServices (EWS), Client=OWA, ..."),
    ("client_ip", pa.string(), "ClientIPAddress / Client_IPAddress"),
    ("mail_access_type", pa.string(), "Bind (items read one by one) or Sync (a folder downloaded)"),
    ("is_throttled", pa.bool_(), "IsThrottled: more than 1,000 records in 24 h, details dropped"),
    ("items", pa.int64(), "items touched: FolderItems counted, else OperationCount"),
    ("folders", STRINGS, "folder paths touched"),
    ("result_status", pa.string(), "ResultStatus"),
    ("external_access", pa.bool_(), "ExternalAccess: a Microsoft datacenter admin or an outside tenant"),
    ("tenant_id", pa.string(), "OrganizationId"),
]

ACCOUNTS_COLUMNS: list[tuple[str, pa.DataType, str]] = [
    *_COMMON,
    ("upn", pa.string(), "userPrincipalName, lowercased: the merge key across exports"),
    ("user_id", pa.string(), "object id"),
    ("display_name", pa.string(), "display name"),
    ("user_type", pa.string(), "member or guest (lowercased)"),
    ("account_enabled", pa.bool_(), "accountEnabled (users export)"),
    ("is_admin", pa.bool_(), "isAdmin (registration details): holds an admin role"),
    ("is_mfa_registered", pa.bool_(), "isMfaRegistered: a strong method is registered"),
    ("is_mfa_capable", pa.bool_(), "isMfaCapable: a strong method is registered and allowed by policy"),
    ("is_passwordless_capable", pa.bool_(), "isPasswordlessCapable"),
    ("is_sspr_registered", pa.bool_(), "isSsprRegistered"),
    (
        "methods_registered",
        STRINGS,
        "methodsRegistered: mobilePhone, microsoftAuthenticatorPush, fido2SecurityKey, ...",
    ),
    ("default_mfa_method", pa.string(), "defaultMfaMethod / userPreferredMethodForSecondaryAuthentication"),
    ("created", pa.timestamp("us"), "createdDateTime"),
    ("last_sign_in", pa.timestamp("us"), "signInActivity.lastSignInDateTime (interactive)"),
    ("last_non_interactive_sign_in", pa.timestamp("us"), "signInActivity.lastNonInteractiveSignInDateTime"),
    ("last_successful_sign_in", pa.timestamp("us"), "signInActivity.lastSuccessfulSignInDateTime"),
    ("on_premises_sync", pa.bool_(), "onPremisesSyncEnabled: synced from Active Directory"),
    (
        "password_policies",
        pa.string(),
        "passwordPolicies, e.g. DisablePasswordExpiration (typical of service accounts)",
    ),
    ("job_title", pa.string(), "jobTitle"),
    ("department", pa.string(), "department"),
    ("report_time", pa.timestamp("us"), "lastUpdatedDateTime of the registration details"),
]


# One row per action recorded with a credential (GitHub audit log, CloudTrail API calls): the table
# the secret-use join reads. A row whose log names no credential (a web session) keeps its actor and
# address: they are the owner's history the join compares a secret's uses against.
CREDENTIAL_USES_COLUMNS: list[tuple[str, pa.DataType, str]] = [
    ("time", pa.timestamp("us"), "when the action happened (UTC)"),
    *_COMMON,
    ("service", pa.string(), "github or aws: the system the credential opens"),
    ("credential_type", pa.string(), "programmatic_access_type (GitHub) or userIdentity.type (AWS)"),
    ("credential_hash", pa.string(), "hashed_token: base64 of the token's SHA-256 (GitHub)"),
    ("credential_id", pa.string(), "token_id (GitHub) or userIdentity.accessKeyId (AWS)"),
    ("token_scopes", pa.string(), "token_scopes as logged (GitHub)"),
    ("actor", pa.string(), "GitHub login or AWS user / role session, lowercased"),
    ("actor_id", pa.string(), "actor_id (GitHub) or userIdentity.principalId / arn (AWS)"),
    ("src_ip", pa.string(), "actor_ip / sourceIPAddress"),
    ("src_country", pa.string(), "actor_location.country_code when logged"),
    ("user_agent", pa.string(), "user_agent / userAgent"),
    ("action", pa.string(), "git.clone, repo.create, ... (GitHub) or eventName (AWS)"),
    ("api", pa.string(), "the action's family: git, repo, ... (GitHub) or eventSource (AWS)"),
    ("resource", pa.string(), "repository (org/name) or the first AWS resource (bucket/key, ARN)"),
    ("account", pa.string(), "GitHub organisation or enterprise, or the AWS account id"),
    ("region", pa.string(), "awsRegion (AWS)"),
    ("outcome", pa.string(), "success or failure (failure: an AWS errorCode)"),
    ("error_code", pa.string(), "errorCode (AWS: AccessDenied, InvalidClientTokenId, ...)"),
    ("transport", pa.string(), "transport_protocol_name for git events: http or ssh (GitHub)"),
    (
        "issued_credential_id",
        pa.string(),
        "the temporary key this call obtained (AWS GetSessionToken / AssumeRole / GetFederationToken "
        "responseElements.credentials.accessKeyId): its uses are this credential's uses",
    ),
]


def _schema(columns: list[tuple[str, pa.DataType, str]]) -> pa.Schema:
    return pa.schema([pa.field(name, typ, metadata={"doc": doc}) for name, typ, doc in columns])


DIRECTORY_AUDIT_SCHEMA = _schema(DIRECTORY_AUDIT_COLUMNS)
MAIL_ACCESS_SCHEMA = _schema(MAIL_ACCESS_COLUMNS)
ACCOUNTS_SCHEMA = _schema(ACCOUNTS_COLUMNS)
CREDENTIAL_USES_SCHEMA = _schema(CREDENTIAL_USES_COLUMNS)


def batch(schema: pa.Schema, rows: list[dict[str, Any]]) -> pa.RecordBatch:
    """A schema-conformant batch from dicts (missing keys become null)."""
    arrays = [pa.array([r.get(f.name) for r in rows], type=f.type) for f in schema]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
