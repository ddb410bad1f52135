"""A FastAPI app with one route per kind of outcome, audited by EvidentMiddleware."""

from __future__ import annotations

from typing import Any, Optional

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import RedirectResponse

from evident.asgi import EvidentMiddleware

PATIENTS = {"p-1": {"ward": "3B"}, "p-2": {"ward": "1A"}}


def build(client: Any, side_effects: list[str], **options: Any) -> tuple[FastAPI, EvidentMiddleware]:
    app = FastAPI()
    app.add_middleware(EvidentMiddleware, client=client, **options)

    def user(request: Request, x_user: Optional[str] = Header(default=None)) -> Optional[str]:
        if x_user:
            request.state.user = {"id": x_user, "type": "admin" if x_user == "root" else "user"}
        return x_user

    @app.get("/healthz")
    def healthz() -> dict:
        return {"ok": True}

    @app.get("/patients/{patient_id}")
    def read(patient_id: str, who: Optional[str] = Depends(user)) -> dict:
        return PATIENTS.get(patient_id, {})

    @app.put("/patients/{patient_id}")
    async def update(patient_id: str, request: Request, who: Optional[str] = Depends(user)) -> dict:
        body = await request.json()
        old = dict(PATIENTS[patient_id])
        PATIENTS[patient_id].update(body)
        request.state.audit = {"changed_fields": sorted(body), "old_values": old, "new_values": body, "reason": "transfer"}
        side_effects.append(f"update {patient_id}")
        return PATIENTS[patient_id]

    @app.get("/patients/{patient_id}/bad-audit")
    def bad_audit(patient_id: str, request: Request) -> dict:
        request.state.audit = {"reason": "a\x00b", "colour": "red"}  # breaks rules: the request is still audited
        return {}

    @app.get("/patients/{patient_id}/missing")
    def missing(patient_id: str) -> dict:
        raise HTTPException(404, "no such thing")

    @app.get("/admin/export")
    def export(who: Optional[str] = Depends(user)) -> dict:
        raise HTTPException(403, "not allowed")

    @app.get("/me")
    def me(who: Optional[str] = Depends(user)) -> dict:
        if not who:
            raise HTTPException(401, "log in")
        return {"me": who}

    @app.get("/boom")
    def boom() -> dict:
        raise RuntimeError("a bug")

    @app.get("/old")
    def old(who: Optional[str] = Depends(user)) -> RedirectResponse:
        return RedirectResponse("/patients/p-1", status_code=307)

    @app.post("/transfers/{patient_id}")
    def transfer(patient_id: str, who: Optional[str] = Depends(user)) -> dict:
        side_effects.append(f"transfer {patient_id}")
        return {"done": True}

    mw = app.build_middleware_stack()
    # The middleware instance the app uses, for its failure counter.
    found = mw
    while not isinstance(found, EvidentMiddleware):
        found = found.app
    app.middleware_stack = mw
    return app, found
