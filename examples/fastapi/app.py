"""A small patient-records API audited by evident. Every request becomes one audit event;
changing a ward is fail-closed: refused with 503, before it happens, if the spool cannot record it.

  EVIDENT_URL=http://127.0.0.1:8080 EVIDENT_API_KEY=evk_... PYTHONPATH=clients/python \\
    python3 -m uvicorn app:app --app-dir examples/fastapi --no-proxy-headers
"""

import os
from typing import Optional

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from pydantic import BaseModel

from evident import EvidentClient
from evident.asgi import EvidentMiddleware

client = EvidentClient(
    os.environ["EVIDENT_URL"],
    os.environ["EVIDENT_API_KEY"],
    log=os.environ.get("EVIDENT_LOG", "default"),
    spool_dir=os.environ.get("EVIDENT_SPOOL_DIR", "./evident-spool"),
)
app = FastAPI(title="clinic")
app.add_middleware(EvidentMiddleware, client=client, skip=["/healthz"], fail_closed=["put /patients/*"])
app.add_event_handler("shutdown", lambda: client.close(timeout=10))

PATIENTS = {"p-1": {"name": "Ada Lovelace", "ward": "3B"}}


class Transfer(BaseModel):
    ward: str


def clinician(request: Request, x_user: Optional[str] = Header(default=None)) -> str:
    if not x_user:  # a real app verifies a session or token here
        raise HTTPException(401, "log in first")
    request.state.user = {"id": x_user, "type": "user"}
    return x_user


@app.get("/healthz")
def healthz() -> dict:
    return {"ok": True}


@app.get("/patients/{patient_id}")
def read_patient(patient_id: str, user: str = Depends(clinician)) -> dict:
    if patient_id not in PATIENTS:
        raise HTTPException(404, "no such patient")
    return PATIENTS[patient_id]


@app.put("/patients/{patient_id}/ward")
def transfer(patient_id: str, body: Transfer, request: Request, user: str = Depends(clinician)) -> dict:
    patient = PATIENTS.setdefault(patient_id, {"name": "unknown", "ward": "none"})
    old = patient["ward"]
    patient["ward"] = body.ward
    request.state.audit = {"changed_fields": ["ward"], "old_values": {"ward": old}, "new_values": {"ward": body.ward}}
    return patient
