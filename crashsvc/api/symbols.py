"""Symbol uploads and listing: ``POST|GET /api/v1/apps/<app id>/symbols``.

An upload is validated and stored (content-addressed) in the request; the SymCache build and the
reprocessing of reports that waited for the files run as a queued job (``build_symcaches``).
"""

from __future__ import annotations

import posixpath
import shutil
import tempfile
from pathlib import Path

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from redis.exceptions import RedisError

from crashsvc.auth import current_principal, require_app_role, require_scope
from crashsvc.db import db_session
from crashsvc.errors import ApiError, Unavailable
from crashsvc.queue import BUILD_SYMCACHES_JOB
from crashsvc.symbols import StoredDebugFile, SymbolFileError, SymbolStore, UploadLimits, UploadMetadata
from crashsvc.symbols.catalog import list_symbol_files, record_stored_files, symbol_file_json

bp = Blueprint("api_symbols", __name__, url_prefix="/api/v1")
STORE_KEY = "crashsvc.symbols"


def register(app: Flask) -> None:
    """Feature registrar: the blueprint and the web process's symbol store."""
    settings = app.extensions["crashsvc"].settings
    app.extensions[STORE_KEY] = SymbolStore(settings.symbols_path)
    app.register_blueprint(bp)


@bp.post("/apps/<int:app_id>/symbols")
@require_scope("symbols")
def upload_symbols(app_id: int) -> tuple[Response, int]:
    session = db_session()
    principal = current_principal(session)
    require_app_role(session, principal, app_id, "developer")
    settings = current_app.extensions["crashsvc"].settings
    limit = settings.symbols_max_upload_bytes
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    request.max_content_length = limit  # a chunked body is cut off while it is read
    uploads = request.files.getlist("file")
    if not uploads:
        raise ApiError("Send one or more files in the multipart field 'file'.", code="no_file")
    metadata = UploadMetadata(
        release=request.form.get("release") or None,
        app_version=request.form.get("app_version") or None,
        build=request.form.get("build") or None,
        url_prefix=request.form.get("url_prefix") or "~/",
    )
    store: SymbolStore = current_app.extensions[STORE_KEY]
    limits = UploadLimits(max_total_bytes=limit, max_files=settings.symbols_max_files)
    stored: list[StoredDebugFile] = []
    for upload in uploads:  # all files are validated before any row is recorded
        stored.extend(_store_one(store, upload, metadata, limits))
    rows = record_stored_files(session, app_id, store.root, stored, principal.user.id)
    session.commit()
    pending = sorted({row.id for row in rows if row.status != "ready"})
    job_id = None
    if pending:
        try:
            job_id = current_app.extensions["crashsvc"].queue.enqueue_task(
                BUILD_SYMCACHES_JOB, pending, description=f"build symcaches for app {app_id}"
            )
        except RedisError:
            raise Unavailable(
                "Stored, but the build job could not be queued; upload again.", retry_after=10
            ) from None
    unique = {row.id: row for row in rows}
    return jsonify({"files": [symbol_file_json(row) for row in unique.values()], "job_id": job_id}), 201


def _store_one(
    store: SymbolStore, upload, metadata: UploadMetadata, limits: UploadLimits
) -> list[StoredDebugFile]:
    scratch = Path(tempfile.mkdtemp(dir=store.root / "tmp", prefix="http-"))
    try:
        path = scratch / _safe_name(upload.filename)
        upload.save(path)
        return store.add_upload(path, metadata, limits=limits, build_symcaches=False)
    except SymbolFileError as error:
        raise ApiError(error.message, code=error.code, status=error.status) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _safe_name(filename: str | None) -> str:
    """The client's file name without any folder part (it names JS files in their release)."""
    name = posixpath.basename((filename or "").replace("\\", "/")).strip()
    return name if name not in ("", ".", "..") else "upload"


def _too_large(limit: int) -> ApiError:
    return ApiError(f"The upload is larger than {limit} bytes.", code="upload_too_large", status=413)


@bp.get("/apps/<int:app_id>/symbols")
@require_scope("read")
def list_symbols(app_id: int) -> Response:
    session = db_session()
    require_app_role(session, current_principal(session), app_id)
    try:
        limit = min(max(int(request.args.get("limit", 100)), 1), 500)
        offset = max(int(request.args.get("offset", 0)), 0)
    except ValueError:
        raise ApiError("limit and offset must be integers.", code="invalid_query") from None
    rows = list_symbol_files(session, app_id, limit=limit, offset=offset)
    return jsonify({"files": [symbol_file_json(row) for row in rows], "limit": limit, "offset": offset})
