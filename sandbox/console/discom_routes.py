"""A discom's back-office read for the console's consumer pages: a consumer's own load
curve (import and solar export, per 15-minute block) from the discom's head-end export.

It runs in the discom's process (``install_console_routes`` mounts it), reads the HES
archive the discom already decoded and VEE-checked, and answers for the consumer's own
meter only; it is the consumer's view of their own data, not a third party's fetch
(that path goes through the consent gate). Personal data: it answers the discom's own
back office, or the console acting for that very consumer (``X-On-Behalf-Of: consumer
<number>``, kernel.backoffice), nobody else.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Path, Query, Request

from adapters.errors import MeterDataNotAvailable
from adapters.hes import HesArchive
from adapters.synthetic import IST
from kernel.backoffice import backoffice
from sandbox.legacy import hes_window
from sandbox.seed import discom_seed


def console_router(discom_code: str) -> APIRouter:
    router = APIRouter(prefix="/back-office", tags=["discom back office"])
    meters = {c.number: c.meter_serial for c in discom_seed(discom_code).network().consumers}

    @router.get(
        "/consumers/{number}/load-curve",
        dependencies=[backoffice(consumer="number")],
        summary="A consumer's import and export per block over one day of the HES export",
    )
    def load_curve(
        request: Request,
        number: Annotated[str, Path(pattern=r"^[A-Za-z0-9\-/]{1,40}$")],
        day: Annotated[date | None, Query(description="a day (IST) of the HES window")] = None,
    ) -> dict[str, Any]:
        archive: HesArchive = request.app.state.archive
        serial = meters.get(number)
        if serial is None:
            raise HTTPException(404, f"no consumer {number}")
        first, last = hes_window(datetime.now(IST).date())
        day = day or last
        if not first <= day <= last:
            raise HTTPException(404, f"the HES export holds {first}..{last}")
        start = datetime(day.year, day.month, day.day, tzinfo=IST)
        try:
            blocks = list(archive.export_import(serial, start, start + timedelta(days=1)))
        except MeterDataNotAvailable:
            blocks = []
        if not blocks:
            raise HTTPException(404, f"the HES holds no block load for meter {serial}")
        return {
            "consumer": number,
            "meter": serial,
            "day": day.isoformat(),
            "window": {"from": first.isoformat(), "to": last.isoformat()},
            "blocks": [
                {
                    "start": b.start.isoformat(),
                    "import_kwh": round(b.import_kwh, 4),
                    "export_kwh": round(b.export_kwh, 4),
                    "quality": b.quality,
                }
                for b in blocks
            ],
        }

    return router


def install_console_routes(app: FastAPI, discom_code: str) -> None:
    app.include_router(console_router(discom_code))
