"""JSON API of the carbon service (``/api/v1/carbon``), mountable by the web platform.

- ``GET|POST /api/v1/carbon/verify`` — public, no auth: checks a code's signature and dates
  offline from the public keys (200 valid; 400 malformed; 422 forged or unknown key; 410
  expired or not yet valid).
- ``GET /api/v1/carbon/products`` — public: 碳效贷 products by bank.
- Bank endpoints, ``Authorization: Bearer <token>`` (401 without a valid token; 403 without an
  active consent of the enterprise — missing, revoked, expired or scope):
  ``GET /api/v1/carbon/bank/enterprises/{uscc}`` (current grade; ``?year=`` of another year
  needs the ``history`` scope),
  ``GET /api/v1/carbon/bank/enterprises/{uscc}/history``, ``GET /api/v1/carbon/bank/consents``,
  ``POST /api/v1/carbon/bank/loans``, ``GET /api/v1/carbon/bank/loans``.

Every error is JSON ``{code, zh, en, request_id}`` (plus the field when there is one). The
engine and the clock come from ``app.state.engine`` / ``app.state.today`` when set (tests, the
web app).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine, Iterator
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from industry_brain.core.errors import (
    ConflictError,
    IBError,
    Location,
    NotFoundError,
    ValidationError,
)
from industry_brain.domains.carbon import access, codes, loans, products
from industry_brain.domains.carbon.errors import AccessDenied, CodeInvalid, Unauthorized
from industry_brain.store.audit import request_id_var
from industry_brain.store.db import get_engine
from industry_brain.store.models import Enterprise, User
from industry_brain.web import auth as web_auth
from industry_brain.web import errors as web_errors

CODE_STATUS = {
    "carbon.code_malformed": 400,
    "carbon.code_unknown_key": 422,
    "carbon.code_bad_signature": 422,
    "carbon.code_expired": 410,
    "carbon.code_not_yet_valid": 410,
}


def error_status(exc: IBError) -> int:
    if isinstance(exc, Unauthorized):
        return 401
    if isinstance(exc, AccessDenied):
        return 403
    if isinstance(exc, CodeInvalid):
        return CODE_STATUS.get(exc.code, 422)
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ConflictError):
        return 409
    if isinstance(exc, ValidationError):
        return 422
    return 400


def error_body(exc: IBError) -> dict[str, Any]:
    """The platform's one error shape: ``{code, zh, en, request_id}`` (+ ``field``)."""
    body: dict[str, Any] = {"code": exc.code, "zh": exc.zh, "en": exc.en}
    if exc.location.field:
        body["field"] = exc.location.field
    body["request_id"] = request_id_var.get()
    return body


class CarbonRoute(APIRoute):
    """Turns bilingual errors and request validation errors into ``{code, zh, en}`` JSON, so
    the router behaves the same when mounted in another app."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except IBError as exc:
                return JSONResponse(error_body(exc), status_code=error_status(exc))
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {}
                where = ".".join(str(p) for p in first.get("loc", ()))
                return JSONResponse(
                    {
                        "code": "request.invalid",
                        "zh": f"请求参数无效（{where}）：{first.get('msg', '')}",
                        "en": f"invalid request ({where}): {first.get('msg', '')}",
                        "field": where,
                        "request_id": request_id_var.get(),
                    },
                    status_code=422,
                )

        return route


router = APIRouter(prefix="/api/v1/carbon", tags=["carbon 碳效码"], route_class=CarbonRoute)


def _engine(request: Request) -> Engine:
    return getattr(request.app.state, "engine", None) or get_engine()


def get_session(request: Request) -> Iterator[Session]:
    with Session(_engine(request)) as session:
        yield session


def get_today(request: Request) -> date:
    clock = getattr(request.app.state, "today", None)
    return clock() if clock else date.today()


SessionDep = Annotated[Session, Depends(get_session)]
TodayDep = Annotated[date, Depends(get_today)]


def bank_user(
    session: SessionDep,
    today: TodayDep,
    authorization: Annotated[str | None, Header()] = None,
) -> User:
    """The bank of the bearer token: a carbon bank token (``ibk_…``, `carbon token create`) or
    a platform API token (``ibt_…``, issued by an admin on /admin/tokens) of a bank user."""
    token = None
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    if token and token.startswith(web_auth.TOKEN_PREFIX):
        try:
            user = web_auth.user_for_token(session, token)
        except IBError:
            user = None
        if user is None or user.role != "bank":
            raise Unauthorized(
                "auth.token_invalid",
                "API 令牌无效、已撤销，或不属于银行用户",
                "API token is invalid, revoked, or not a bank user's",
                Location(field="Authorization"),
            )
    else:
        user = access.authenticate(session, token, today)
    session.commit()  # last_used_at
    return user


BankDep = Annotated[User, Depends(bank_user)]


def _request_id(request: Request) -> str:
    """The request id the platform's middleware set (else the header, else a new one)."""
    return request_id_var.get() or request.headers.get("x-request-id") or uuid.uuid4().hex


class VerifyIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    payload: str = Field(min_length=1, max_length=2000)


class LoanIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    uscc: str = Field(min_length=18, max_length=40)
    reference: str = Field(min_length=1, max_length=64)
    amount_wan: float = Field(gt=0)
    rate_pct: float = Field(gt=0, lt=100)
    granted_on: date = Field(strict=False)
    grade: int | None = Field(default=None, ge=1, le=5)
    grade_year: int | None = None
    product_code: str | None = Field(default=None, max_length=32)
    term_months: int | None = Field(default=None, gt=0)


def _verify(payload: str, today: date) -> dict[str, Any]:
    return codes.verify_payload(payload, today=today).to_dict()


@router.get("/verify", summary="验证碳效码 verify a code (public)")
def verify_get(payload: str, today: TodayDep) -> dict[str, Any]:
    return _verify(payload, today)


@router.post("/verify", summary="验证碳效码 verify a code (public)")
def verify_post(body: VerifyIn, today: TodayDep) -> dict[str, Any]:
    return _verify(body.payload, today)


@router.get("/products", summary="碳效贷产品 green-loan products (public)")
def list_products(today: TodayDep, region: str | None = None) -> list[dict[str, Any]]:
    return products.all_products(region, today)


@router.get("/bank/enterprises/{uscc}", summary="企业当前碳效等级（需授权）")
def bank_grade(
    uscc: str,
    request: Request,
    session: SessionDep,
    bank: BankDep,
    today: TodayDep,
    year: Annotated[
        int | None,
        Query(ge=1949, le=2100, description="a year other than the current needs `history`"),
    ] = None,
) -> dict[str, Any]:
    data = access.bank_grade(session, bank, uscc, year, today, _request_id(request))
    session.commit()
    return data


@router.get("/bank/enterprises/{uscc}/history", summary="企业历年碳效等级（需授权）")
def bank_history(
    uscc: str, request: Request, session: SessionDep, bank: BankDep, today: TodayDep
) -> dict[str, Any]:
    data = access.bank_history(session, bank, uscc, today, _request_id(request))
    session.commit()
    return data


@router.get("/bank/consents", summary="授权给本银行的企业 consents granted to this bank")
def bank_consents(session: SessionDep, bank: BankDep, today: TodayDep) -> list[dict[str, Any]]:
    return access.list_consents(session, bank_username=bank.username, today=today)


@router.post("/bank/loans", status_code=201, summary="登记碳效贷 report a loan")
def bank_report_loan(
    body: LoanIn, request: Request, session: SessionDep, bank: BankDep, today: TodayDep
) -> dict[str, Any]:
    loan = loans.report_loan(
        session,
        bank,
        body.uscc,
        body.reference,
        body.amount_wan,
        body.rate_pct,
        body.granted_on,
        grade=body.grade,
        grade_year=body.grade_year,
        product_code=body.product_code,
        term_months=body.term_months,
        today=today,
        request_id=_request_id(request),
    )
    session.commit()
    ent = session.get(Enterprise, loan.enterprise_id)
    assert ent is not None
    return loans.loan_dict(loan, ent.uscc, ent.name, bank.username)


@router.get("/bank/loans", summary="本银行登记的碳效贷 this bank's loans")
def bank_loans(session: SessionDep, bank: BankDep) -> list[dict[str, Any]]:
    return loans.list_loans(session, bank.username)


def build_app(engine: Engine | None = None, today: Callable[[], date] | None = None) -> FastAPI:
    """A standalone FastAPI app serving the carbon router (until the web platform mounts it)."""
    app = FastAPI(
        title="Industry Brain carbon API 工业碳效码",
        version="1",
        description=__doc__,
    )
    app.state.engine = engine
    app.state.today = today
    app.include_router(router)

    @app.exception_handler(SQLAlchemyError)
    async def _store_fault(request: Request, exc: SQLAlchemyError) -> Response:
        # an unreachable or busy store: 503 store.unavailable / store.busy with Retry-After,
        # as the web platform answers (any other database error: the logged 500)
        return web_errors.response_for(request, exc)

    return app
