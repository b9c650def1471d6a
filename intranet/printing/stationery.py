"""Stationery orders and the stock of permit blanks and visitor permit cards.

The SLA: "All stationery will be ordered through Emma Liptrot and will continue to be charged to
NP0009". Both come from the rules (finance.stationery) and are copied onto each order when it is
logged, so an old order still shows what it was charged to after the rules change. An order is
logged, approved by a team leader or above (not the person who logged it), then received, which
adds its quantity to the stock when it is a stock item. Print batches and reprints take stock
away; a stock count records the difference. Levels are sums of movements, never overwritten.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select

from .. import audit
from ..auth.roles import SERVICE_LEAD, SERVICE_MANAGER, TEAM_LEADER
from ..extensions import db
from ..money import format_pence
from ..service_rules import rules_in_force
from ..sla.model import StockItem
from ..timefmt import utcnow
from .models import StationeryOrder, StockMovement
from .postage import financial_year_of, months_of

APPROVERS = (TEAM_LEADER, SERVICE_LEAD, SERVICE_MANAGER)


class StationeryError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _name(actor) -> str:
    return getattr(actor, "username", None) or str(actor or "system")


def stock_items() -> tuple[StockItem, ...]:
    return rules_in_force().printing.stock


@dataclass(frozen=True)
class StockLevel:
    item: StockItem
    level: int

    @property
    def low(self) -> bool:
        return self.level <= self.item.reorder_level


def stock_levels() -> list[StockLevel]:
    """Every stock item of the rules with its level: one grouped query."""
    sums = dict(db.session.execute(select(StockMovement.stock_code, func.coalesce(func.sum(StockMovement.change), 0))
                                   .group_by(StockMovement.stock_code)).all())
    return [StockLevel(item, int(sums.get(item.code, 0))) for item in stock_items()]


def use_stock(permit_counts: dict[str, int], *, actor_name: str, batch_id: int | None = None,
              reprint_id: int | None = None, note: str = "") -> list[StockMovement]:
    """Takes one item per printed permit from the stock item used for its kind (rules: printing.stock)."""
    moves = []
    for item in stock_items():
        used = permit_counts.get(item.used_for or "", 0)
        if used:
            move = StockMovement(stock_code=item.code, change=-used, reason="reprint" if reprint_id else "batch",
                                 print_batch_id=batch_id, reprint_id=reprint_id, note=note, created_at=utcnow(),
                                 created_by_name=actor_name)
            db.session.add(move)
            moves.append(move)
    return moves


def _stock_item(code: str, field: str) -> StockItem:
    for item in stock_items():
        if item.code == code:
            return item
    raise StationeryError("Choose a stock item", field)


def count_stock(actor, stock_code: str, counted: int | None, note: str = "") -> StockMovement | None:
    """Records a physical count: the movement is the difference from the level on record."""
    item = _stock_item(stock_code, "stock_code")
    if counted is None or counted < 0:
        raise StationeryError("Enter the number counted, 0 or more", "counted")
    level = next(s.level for s in stock_levels() if s.item.code == item.code)
    if counted == level:
        return None
    move = StockMovement(stock_code=item.code, change=counted - level, reason="count", note=(note or "").strip(),
                         created_at=utcnow(), created_by_name=_name(actor))
    db.session.add(move)
    db.session.flush()
    audit.record(actor, "stock_counted", "stock", item.code, before={"level": level}, after={"level": counted},
                 summary=f"{item.title}: counted {counted} (record said {level})")
    return move


def log_order(actor, *, item: str, stock_code: str, quantity: int | None, cost_pence: int | None,
              ordered_on: date | None, note: str = "") -> StationeryOrder:
    rules = rules_in_force(ordered_on or date.today())
    if stock_code:
        stock = _stock_item(stock_code, "stock_code")
        item = item.strip() or stock.title
    if not (item or "").strip():
        raise StationeryError("Enter what was ordered", "item")
    if not quantity or quantity < 1:
        raise StationeryError("Enter the quantity, 1 or more", "quantity")
    if cost_pence is None or cost_pence < 0:
        raise StationeryError("Enter the cost", "cost")
    if ordered_on is None:
        raise StationeryError("Enter the date it was ordered", "ordered_on")
    order = StationeryOrder(item=item.strip(), stock_code=stock_code or "", quantity=quantity, cost_pence=cost_pence,
                            ordered_on=ordered_on, cost_code=rules.finance.stationery_cost_code,
                            ordered_through=rules.finance.stationery_ordered_through, ordered_by_id=actor.id,
                            status="awaiting_approval", note=(note or "").strip())
    db.session.add(order)
    db.session.flush()
    audit.record(actor, "stationery_ordered", "stationery_order", order.id, after=order.audit_view(),
                 summary=f"Ordered {quantity} × {order.item} ({format_pence(cost_pence)}, charged to {order.cost_code})")
    return order


def approve_order(actor, order: StationeryOrder, now: datetime | None = None) -> None:
    if not actor.has_role(*APPROVERS):
        raise StationeryError("Only a team leader or above can approve an order", "submit")
    if order.ordered_by_id == actor.id:
        raise StationeryError("Someone other than the person who logged the order must approve it", "submit")
    if order.status != "awaiting_approval":
        raise StationeryError("This order has already been approved", "submit")
    before = order.audit_view()
    order.status, order.approved_by_id, order.approved_at = "approved", actor.id, now or utcnow()
    audit.record(actor, "stationery_approved", "stationery_order", order.id, before=before, after=order.audit_view(),
                 summary=f"Approved the order of {order.quantity} × {order.item}")


def receive_order(actor, order: StationeryOrder, now: datetime | None = None) -> None:
    if order.status != "approved":
        raise StationeryError("Only an approved order can be received" if order.status == "awaiting_approval"
                              else "This order has already been received", "submit")
    before = order.audit_view()
    order.status, order.received_at = "received", now or utcnow()
    if order.stock_code:
        db.session.add(StockMovement(stock_code=order.stock_code, change=order.quantity, reason="order",
                                     order_id=order.id, created_at=order.received_at, created_by_name=_name(actor)))
    audit.record(actor, "stationery_received", "stationery_order", order.id, before=before, after=order.audit_view(),
                 summary=f"Received {order.quantity} × {order.item}")


def orders_for_year(financial_year: int) -> list[StationeryOrder]:
    months = months_of(financial_year)
    last = months[-1]
    end = date(last.year + (last.month == 12), last.month % 12 + 1, 1)
    return list(db.session.scalars(
        select(StationeryOrder).where(StationeryOrder.ordered_on >= months[0], StationeryOrder.ordered_on < end)
        .options(db.selectinload(StationeryOrder.ordered_by), db.selectinload(StationeryOrder.approved_by))
        .order_by(StationeryOrder.ordered_on.desc(), StationeryOrder.id.desc())))


def monthly_spend(orders: list[StationeryOrder], financial_year: int) -> list[tuple[date, int]]:
    spend = {m: 0 for m in months_of(financial_year)}
    for order in orders:
        spend[order.ordered_on.replace(day=1)] = spend.get(order.ordered_on.replace(day=1), 0) + order.cost_pence
    return sorted(spend.items())


def current_financial_year() -> int:
    return financial_year_of(utcnow().date())
