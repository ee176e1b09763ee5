"""AWS CloudTrail console sign-ins (``ConsoleLogin``), from JSON or the Sentinel CSV export.

JSON shapes read by ``aws-cloudtrail-json`` (plain or .gz):

* S3 trail files ``{"Records": [...]}`` (one line or pretty-printed),
* NDJSON, one event per line (CloudTrail Lake / Athena / SIEM exports; lines may themselves
  be ``{"Records": [...]}`` files concatenated with ``zcat``),
* a JSON array of events,
* ``aws cloudtrail lookup-events`` output ``{"Events": [{"CloudTrailEvent": "<json>"}]}``,
* Sentinel / Log Analytics ``AWSCloudTrail`` rows as JSON (PascalCase columns).

``aws-cloudtrail-csv`` reads the Sentinel ``AWSCloudTrail`` CSV export.

Only ``eventName == "ConsoleLogin"`` is a sign-in (``auth_events``). Every other event is an API call
made with a credential: ingest reads the file a second time (the ``also`` sources) into
``credential_uses``, one row per call with ``userIdentity.accessKeyId``, ``sourceIPAddress``,
``eventName``, ``eventSource``, the resource, ``errorCode`` and ``userAgent``.
Other ``signin.amazonaws.com`` events (``CheckMfa``, ``SwitchRole``, IAM Identity Center's
``CredentialChallenge``/``CredentialVerification``/``UserAuthentication``) are not mapped yet
and are ignored with their own reason so a report shows they were there.

Mapping (AWS "CloudTrail record contents for sign-in events"): ``responseElements.ConsoleLogin``
Success/Failure; ``errorMessage`` "Failed authentication" -> INVALID_CREDENTIALS, "No username
found in supplied account" -> USER_DOES_NOT_EXIST; ``additionalEventData.MFAUsed`` Yes/No ->
``is_mfa`` (as AWS writes it, also on failures); ``userName`` HIDDEN_DUE_TO_SECURITY_REASONS
(AWS masks a name that is not an IAM user, since it may be a mistyped password) ->
``user_exists`` false and no user name: the mask is no account, and many failures on masked names
are many unknown names, not one account guessed (enumeration.single_source counts them as
unnamed); ``recipientAccountId`` -> tenant_id.
The region (``awsRegion``) has no column in the normalized table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import orjson
import pyarrow as pa

from nightowl import audit_schema
from nightowl import schema as S
from nightowl.sources.base import InputError, InputFile, ReadOptions, Tally, bounded_lines
from nightowl.sources.records.csv_rows import header_fields, line_records
from nightowl.sources.records.json_recover import located, looks_like_container
from nightowl.sources.records.times import parse_sentinel_time, time_column

BATCH_ROWS = 50_000
MAX_DOCUMENT_BYTES = 1 << 30  # a pretty-printed / array document is parsed whole
MASKED_USER = "HIDDEN_DUE_TO_SECURITY_REASONS"
NOT_SIGNIN = "CloudTrail API call, not a sign-in"
OTHER_SIGNIN = "AWS sign-in event other than ConsoleLogin (not mapped)"

ERRORS = {
    "Failed authentication": (S.INVALID_CREDENTIALS, True, False),
    "No username found in supplied account": (S.USER_DOES_NOT_EXIST, False, None),
}


def _strip_bom(head: bytes) -> bytes:
    return head[3:] if head.startswith(b"\xef\xbb\xbf") else head


def _parse_time(raw: Any) -> datetime | None:
    """eventTime is ISO 8601; Sentinel rows may carry the portal's locale format."""
    return parse_sentinel_time(raw) if isinstance(raw, str) else None


def _json_field(value: Any, kind: type = dict) -> Any:
    """A nested object (or, with ``kind=list``, an array) that CSV / Log Analytics exports carry as a
    JSON string; empty when absent or unreadable."""
    if isinstance(value, str) and value.startswith("[" if kind is list else "{"):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return kind()
    return value if isinstance(value, kind) else kind()


def from_sentinel(row: dict[str, Any], time_value: datetime | None = None) -> dict[str, Any]:
    """A Sentinel AWSCloudTrail row (PascalCase columns) as a CloudTrail record."""

    def get(key: str) -> Any:
        value = row.get(key)
        return None if value == "" else value

    return {
        "eventName": get("EventName"),
        "eventSource": get("EventSource"),
        "eventType": get("EventTypeName"),
        "eventID": get("AwsEventId"),
        "_time": time_value,
        "eventTime": get("TimeGenerated"),
        "userIdentity": {
            "type": get("UserIdentityType"),
            "userName": get("UserIdentityUserName"),
            "arn": get("UserIdentityArn"),
            "accountId": get("UserIdentityAccountId"),
            "principalId": get("UserIdentityPrincipalid"),
            "accessKeyId": get("UserIdentityAccessKeyId"),
        },
        "sourceIPAddress": get("SourceIpAddress"),
        "userAgent": get("UserAgent"),
        "awsRegion": get("AWSRegion"),
        "errorCode": get("ErrorCode"),
        "errorMessage": get("ErrorMessage"),
        "responseElements": _json_field(get("ResponseElements")),
        "additionalEventData": _json_field(get("AdditionalEventData")),
        "recipientAccountId": get("RecipientAccountId"),
        "requestParameters": _json_field(get("RequestParameters")),
        "resources": _json_field(get("Resources"), list),
    }


def _user(identity: dict) -> tuple[str | None, str | None]:
    """(user_name, user_type) from userIdentity."""
    kind = identity.get("type")
    name = identity.get("userName")
    if not name:
        arn = identity.get("arn") or ""
        if kind == "Root" or arn.endswith(":root"):
            name = "root"
        elif "/" in arn:  # assumed-role/Role/session -> the session name (often the person)
            name = arn.rsplit("/", 1)[-1]
        elif ":" in (identity.get("principalId") or ""):
            name = identity["principalId"].split(":", 1)[1]
    return (str(name).lower() if name else None), (str(kind).lower() if kind else None)


def console_login(ev: dict, ref: str, source_format: str) -> dict | str:
    """A normalized row, or the reason the record is ignored. Raises ValueError if unreadable."""
    name = ev.get("eventName")
    if name != "ConsoleLogin":
        if ev.get("eventSource") == "signin.amazonaws.com" or ev.get("eventType") == "AwsConsoleSignIn":
            return OTHER_SIGNIN
        return NOT_SIGNIN
    when = ev.get("_time") or _parse_time(ev.get("eventTime")) or _parse_time(ev.get("@timestamp"))
    if when is None:
        raise ValueError("ConsoleLogin without a readable eventTime")
    identity = ev.get("userIdentity") if isinstance(ev.get("userIdentity"), dict) else {}
    response = _json_field(ev.get("responseElements"))
    extra = _json_field(ev.get("additionalEventData"))
    error = ev.get("errorMessage")
    result = response.get("ConsoleLogin")
    user, user_type = _user(identity)
    if result == "Success" and not error:
        status_id, code, detail, exists, pw = S.STATUS_SUCCESS, "Success", S.SUCCESS, True, True
    else:
        detail, exists, pw = ERRORS.get(str(error), (S.OTHER, None, None))
        status_id, code = S.STATUS_FAILURE, str(error or result or "Failure")
    if identity.get("userName") == MASKED_USER:
        user, exists = None, False
    mfa = extra.get("MFAUsed")
    kind = identity.get("type")
    if extra.get("SamlProviderArn"):
        protocol = "saml"
    elif kind in ("IAMUser", "Root"):
        protocol = "password"
    else:
        protocol = None
    return {
        "time": when,
        "source_format": source_format,
        "record_ref": ref,
        "event_uid": ev.get("eventID"),
        "activity_name": "logon",
        "user_name": user,
        "user_exists": exists,
        "user_type": user_type,
        "src_endpoint_ip": ev.get("sourceIPAddress"),
        "user_agent": ev.get("userAgent"),
        "service_name": "AWS Management Console",
        "dst_host": ev.get("eventSource") or "signin.amazonaws.com",
        "auth_protocol": protocol,
        "is_legacy_protocol": False,
        "logon_type": "interactive",
        "status_id": status_id,
        "status_code": code,
        "status_detail": detail,
        "password_correct": pw,
        "is_mfa": True if mfa == "Yes" else False if mfa == "No" else None,
        "tenant_id": ev.get("recipientAccountId") or identity.get("accountId"),
    }


def _resource(ev: dict) -> str | None:
    """The object an API call acted on: ``bucket/key``, a named resource, or the first ARN."""
    params = _json_field(ev.get("requestParameters"))
    bucket = params.get("bucketName")
    if isinstance(bucket, str) and bucket:
        key = params.get("key")
        return f"{bucket}/{key}" if isinstance(key, str) and key else bucket
    for name in ("functionName", "secretId", "name", "roleName", "userName", "instanceId", "tableName"):
        value = params.get(name)
        if isinstance(value, str) and value:
            return value[:512]
    resources = ev.get("resources")
    if isinstance(resources, list):
        for res in resources:
            if isinstance(res, dict) and isinstance(res.get("ARN"), str):
                return res["ARN"][:512]
    return None


def api_call(ev: dict, ref: str, source_format: str) -> dict | str:
    """A ``credential_uses`` row for any CloudTrail event but a sign-in (those are ``auth_events``):
    which access key (``userIdentity.accessKeyId``) did what, from where, and whether AWS refused it."""
    if ev.get("eventName") == "ConsoleLogin":
        return "ConsoleLogin (a sign-in, in auth_events)"
    if ev.get("eventSource") == "signin.amazonaws.com" or ev.get("eventType") == "AwsConsoleSignIn":
        return OTHER_SIGNIN
    when = ev.get("_time") or _parse_time(ev.get("eventTime")) or _parse_time(ev.get("@timestamp"))
    if when is None:
        raise ValueError("CloudTrail event without a readable eventTime")
    identity = ev.get("userIdentity") if isinstance(ev.get("userIdentity"), dict) else {}
    user, _ = _user(identity)
    error = ev.get("errorCode")
    return {
        "time": when,
        "source_format": source_format,
        "record_ref": ref,
        "event_uid": ev.get("eventID"),
        "service": "aws",
        "credential_type": identity.get("type"),
        "credential_id": identity.get("accessKeyId") or None,
        "actor": user,
        "actor_id": identity.get("arn") or identity.get("principalId"),
        "src_ip": ev.get("sourceIPAddress"),
        "user_agent": ev.get("userAgent"),
        "action": ev.get("eventName"),
        "api": ev.get("eventSource"),
        "resource": _resource(ev),
        "account": ev.get("recipientAccountId") or identity.get("accountId"),
        "region": ev.get("awsRegion"),
        "outcome": "failure" if error else "success",
        "error_code": error,
        "issued_credential_id": _issued_key(ev),
    }


def _issued_key(ev: dict) -> str | None:
    """The temporary access key id an STS call handed out (the caller's next calls sign with it)."""
    creds = _json_field(ev.get("responseElements")).get("credentials")
    key = creds.get("accessKeyId") if isinstance(creds, dict) else None
    return key if isinstance(key, str) and key else None


class _Batcher:
    """Collects rows and reports ignored / quarantined records for one input."""

    def __init__(
        self,
        tally: Tally,
        source_format: str,
        mapper: Callable[[dict, str, str], dict | str] = console_login,
        build: Callable[[list[dict]], pa.RecordBatch] = S.batch_from_rows,
    ) -> None:
        self.tally = tally
        self.source_format = source_format
        self.mapper = mapper
        self.build = build
        self.rows: list[dict] = []

    def event(self, ev: Any, position: str, ref: str) -> None:
        if not isinstance(ev, dict):
            self.tally.reject(position or "file", "record is not a JSON object", _dump(ev))
            return
        if "EventName" in ev and "eventName" not in ev:  # Log Analytics JSON export
            ev = from_sentinel(ev)
        try:
            out = self.mapper(ev, ref, self.source_format)
        except (ValueError, TypeError, AttributeError) as exc:
            self.tally.reject(position or "file", str(exc), _dump(ev))
            return
        if isinstance(out, str):
            self.tally.ignore(out)
        else:
            self.rows.append(out)

    def container(self, obj: Any, position: str, ref: str) -> None:
        """A record, a {"Records": [...]} file, a lookup-events page, or an array of records."""
        if isinstance(obj, dict) and isinstance(obj.get("Records"), list):
            for i, ev in enumerate(obj["Records"], 1):
                self.event(ev, _join(position, f"record {i}"), _join(ref, f"record {i}"))
        elif isinstance(obj, dict) and isinstance(obj.get("Events"), list):
            for i, item in enumerate(obj["Events"], 1):
                pos, r = _join(position, f"event {i}"), _join(ref, f"event {i}")
                raw = item.get("CloudTrailEvent") if isinstance(item, dict) else None
                if isinstance(raw, str):
                    try:
                        item = orjson.loads(raw)
                    except orjson.JSONDecodeError as exc:
                        self.tally.reject(pos, f"CloudTrailEvent is not valid JSON: {exc}", raw)
                        continue
                self.event(item, pos, r)
        elif isinstance(obj, list):
            for i, ev in enumerate(obj, 1):
                self.event(ev, _join(position, f"record {i}"), _join(ref, f"record {i}"))
        else:
            self.event(obj, position, ref)

    def flush(self, force: bool = False) -> pa.RecordBatch | None:
        if self.rows and (force or len(self.rows) >= BATCH_ROWS):
            batch = self.build(self.rows)
            self.rows = []
            return batch
        return None


def _join(prefix: str, part: str) -> str:
    return prefix + part if not prefix or prefix.endswith("#") else f"{prefix} {part}"


def _dump(value: Any) -> str:
    try:
        return orjson.dumps(value, default=str)[:1000].decode("utf-8", "replace")
    except (TypeError, orjson.JSONEncodeError):
        return repr(value)[:1000]


class CloudTrailJson:
    name = "aws-cloudtrail-json"
    title = "AWS CloudTrail (S3 trail files, NDJSON, lookup-events JSON)"
    export_hint = (
        "aws s3 sync s3://<trail-bucket>/AWSLogs/<account>/CloudTrail/ ./trail (the .json.gz files: sign-ins and "
        "every API call), or: aws cloudtrail lookup-events --start-time YYYY-MM-DD > events.json (management events, 90 days)"
    )

    def _batcher(self, tally: Tally) -> _Batcher:
        return _Batcher(tally, self.name)

    def sniff(self, head: bytes, name: str) -> bool:
        text = _strip_bom(head).lstrip()
        if text[:1] not in (b"{", b"["):
            return False
        if b'"CloudTrailEvent"' in text:
            return True
        if b'"eventSource"' in text and b'"eventName"' in text:
            return b'"eventVersion"' in text or b'"awsRegion"' in text or b'"userIdentity"' in text
        return b'"AwsEventId"' in text and b'"EventName"' in text

    def read(self, inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        out = self._batcher(tally)
        # line mode when the first line is a whole JSON value (NDJSON, one-line S3 objects one
        # per line); otherwise the file is one document (pretty-printed, or a first line longer
        # than max_line_bytes, as big one-line S3 objects are)
        first = _first_line(inp, opts)
        if first is not None and _is_whole(first):
            yield from self._lines(inp, tally, opts, out)
        else:
            yield from self._document(inp, tally, out)
        last = out.flush(force=True)
        if last is not None:
            yield last

    def _document(self, inp: InputFile, tally: Tally, out: _Batcher) -> Iterator[pa.RecordBatch]:
        try:
            with inp.open() as fh:
                data = fh.read(MAX_DOCUMENT_BYTES + 1)
        except (OSError, EOFError) as exc:
            tally.reject("file", f"compressed stream is corrupt or truncated: {exc}")
            return
        if len(data) > MAX_DOCUMENT_BYTES:
            raise InputError(
                f"{inp.name}: a single JSON document larger than {MAX_DOCUMENT_BYTES >> 20} MiB; "
                "convert it to one event per line first (jq -c '.Records[]')"
            )
        data = _strip_bom(data)
        try:
            out.container(orjson.loads(data), "", inp.name + "#")
        except orjson.JSONDecodeError:
            # several one-line documents (zcat *.json.gz), or a damaged or cut one: record by record
            _recover(data.decode("utf-8", errors="replace"), None, inp.name, tally, out)
        # rows are bounded by the document size; hand them over in batches
        while out.rows:
            chunk, out.rows = out.rows[:BATCH_ROWS], out.rows[BATCH_ROWS:]
            yield out.build(chunk)

    def _lines(
        self, inp: InputFile, tally: Tally, opts: ReadOptions, out: _Batcher
    ) -> Iterator[pa.RecordBatch]:
        for lineno, raw, problem in bounded_lines(inp, opts.max_line_bytes):
            if problem:
                tally.reject(f"line {lineno}", problem, raw)
                continue
            _json_line(raw, lineno, inp.name, tally, out)
            batch = out.flush()
            if batch is not None:
                yield batch


def _json_line(raw: bytes, lineno: int, shown: str, tally: Tally, out: _Batcher) -> None:
    if not raw.strip():  # a blank line is no record
        return
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        text = raw.decode("utf-8", errors="replace")
        if looks_like_container(text):  # a damaged {"Records": [...]} line: its other records
            _recover(text, lineno, shown, tally, out)
        else:
            tally.reject(f"line {lineno}", f"not valid JSON: {exc}", raw)
        return
    out.container(obj, f"line {lineno}", f"{shown}#line {lineno}")


def _recover(text: str, at_line: int | None, shown: str, tally: Tally, out: _Batcher) -> None:
    """Records of a document or line that does not parse: damaged records quarantined one by one."""
    for loc in located(text, at_line):
        ref = f"{shown}#{loc.where}"
        if loc.reason is not None:
            tally.reject(loc.where, loc.reason, loc.piece.text[:1000])
        elif loc.piece.element:
            out.event(loc.piece.value, loc.where, ref)
        else:
            out.container(loc.piece.value, loc.where, ref)


def _first_line(inp: InputFile, opts: ReadOptions) -> bytes | None:
    for _, raw, problem in bounded_lines(inp, opts.max_line_bytes):
        if problem:
            return None
        if raw.strip():
            return _strip_bom(raw)
    return None


def _is_whole(line: bytes) -> bool:
    """True when a line is a whole JSON value (not the start of a pretty-printed document)."""
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return True


# --------------------------------------------------------------------------- Sentinel CSV

_CSV_REQUIRED = {"EventName", "EventSource"}
_CSV_ANY_OF = {"AwsEventId", "UserIdentityType", "AWSRegion", "RecipientAccountId"}


class CloudTrailSentinelCsv:
    name = "aws-cloudtrail-csv"
    title = "AWS CloudTrail via Microsoft Sentinel (AWSCloudTrail CSV export)"
    export_hint = 'Sentinel / Log Analytics: run `AWSCloudTrail` (all events, or `| where EventName == "ConsoleLogin"`) and Export > CSV (all columns)'

    def _batcher(self, tally: Tally) -> _Batcher:
        return _Batcher(tally, self.name)

    def sniff(self, head: bytes, name: str) -> bool:
        fields = set(header_fields(head))
        return fields >= _CSV_REQUIRED and bool(fields & _CSV_ANY_OF)

    def read(self, inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        out = self._batcher(tally)
        time_col: str | None = None
        offset = timedelta(0)
        checked = False
        for lineno, row in line_records(inp, tally, opts):
            if not checked:
                if not row.keys() >= _CSV_REQUIRED:
                    raise InputError(
                        f"{inp.name}: not an AWSCloudTrail export (no EventName/EventSource columns)"
                    )
                time_col, offset = time_column(list(row))
                checked = True
            when = parse_sentinel_time(row.get(time_col) if time_col else None, offset)
            ev = from_sentinel(row, when)
            if when is None:
                ev["_time"] = None
                ev["eventTime"] = None
            out.event(ev, f"line {lineno}", f"{inp.name}#line {lineno}")
            batch = out.flush()
            if batch is not None:
                yield batch
        last = out.flush(force=True)
        if last is not None:
            yield last


class _ApiCalls:
    """The same file read again for its API calls, into ``credential_uses`` (ingest runs it after the
    sign-in pass; the records it maps are the ones that pass counted as ``NOT_SIGNIN``)."""

    table = "credential_uses"
    schema = audit_schema.CREDENTIAL_USES_SCHEMA
    claims = NOT_SIGNIN

    def _batcher(self, tally: Tally) -> _Batcher:
        return _Batcher(tally, self.name, api_call, partial(audit_schema.batch, self.schema))


class CloudTrailApiJson(_ApiCalls, CloudTrailJson):
    pass


class CloudTrailApiCsv(_ApiCalls, CloudTrailSentinelCsv):
    pass


class CloudTrailJsonAll(CloudTrailJson):
    also = (CloudTrailApiJson(),)


class CloudTrailCsvAll(CloudTrailSentinelCsv):
    also = (CloudTrailApiCsv(),)


SOURCES = [CloudTrailJsonAll(), CloudTrailCsvAll()]
