"""Merchant categories (ISO 18245) that reveal what Credo refuses to hold (PRODUCT.md §3).

A merchant category code is kept with an order for the consumer's own spending insights and is
never scored (:data:`credo.policy.protection.ALLOWED_DATA_CATEGORIES`). Some codes, though, say
more than where money went: a payment to a religious or political organisation reveals beliefs,
one to a hospital or a pharmacy reveals health, one to a dating service reveals sex life, one to
a court reveals proceedings (alimony and child support also marital status). Holding such a code
is holding the special-category data itself (GDPR Art. 9 and 10, PIPL Art. 28), whatever the order
is for.

**Decision: the event is refused, not stored without the code.** An order whose
``merchant_category`` is listed here is rejected like any other forbidden data, with
``POLICY_FORBIDDEN_CATEGORY`` on ``merchant_category`` and the group's rule (``SMC01`` …). Why not
drop the code and keep the order: Credo would then store something other than what the partner
sent (idempotency compares what was sent), and the partner, told "accepted", would go on sending
the code with every order; a refusal names the field, so the partner's fix is to leave the field
out, and the order is then stored as usual.

Each group names the ranges it covers (inclusive, as ISO 18245 codes) and the forbidden category
(:mod:`credo.policy.protection`) it would reveal. Codes that are sensitive only to some readers
(gambling, pawn shops, debt collection) are not listed: they are financial behaviour, not one of
the categories of §3. The test ``tests/test_merchant_categories.py`` walks the whole ISO 18245 list.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from credo.policy.protection import FORBIDDEN_BY_CODE, ForbiddenCategory


@dataclass(frozen=True)
class SensitiveMerchantGroup:
    """Merchant category codes that reveal one forbidden category, and why."""

    rule: str
    name: str
    reveals: str
    rationale: str
    #: Inclusive ranges of four-digit ISO 18245 codes.
    ranges: tuple[tuple[str, str], ...]

    @property
    def category(self) -> ForbiddenCategory | None:
        return FORBIDDEN_BY_CODE.get(self.reveals)

    def covers(self, code: str) -> bool:
        return any(first <= code <= last for first, last in self.ranges)


SENSITIVE_MERCHANT_GROUPS: tuple[SensitiveMerchantGroup, ...] = (
    SensitiveMerchantGroup(
        "SMC01", "religious organisations and goods", "FC03",
        "Donations to a church, mosque or temple and purchases of religious goods reveal religion.",
        (("5973", "5973"), ("8661", "8661")),
    ),
    SensitiveMerchantGroup(
        "SMC02", "political organisations", "FC01",
        "Payments to a political party or campaign reveal political opinions.",
        (("8651", "8651"),),
    ),
    SensitiveMerchantGroup(
        "SMC03", "membership, civic and charitable organisations", "FC11",
        "Trade unions are classified as membership organisations (8699); fraternal associations and "
        "charities reveal associations and beliefs.",
        (("8398", "8398"), ("8641", "8641"), ("8699", "8699")),
    ),
    SensitiveMerchantGroup(
        "SMC04", "health care, medicines and medical goods", "FC09",
        "Doctors, dentists, hospitals (7280: private hospitals), nursing, laboratories, pharmacies, ambulances, "
        "hearing aids, prosthetics and counselling reveal health; the whole 8011-8099 medical range is covered.",
        (("4119", "4119"), ("5047", "5047"), ("5122", "5122"), ("5912", "5912"), ("5975", "5976"),
         ("7277", "7277"), ("7280", "7280"), ("8011", "8099")),
    ),
    SensitiveMerchantGroup(
        "SMC05", "dating, escort and adult services", "FC07",
        "Dating and escort services, massage parlours and adult telephone services (5967) reveal sex life "
        "and sexual orientation.",
        (("5967", "5967"), ("7273", "7273"), ("7297", "7297")),
    ),
    SensitiveMerchantGroup(
        "SMC06", "courts, fines, bail and legal services", "FC08",
        "Court costs (including alimony and child support), fines, bail and lawyers reveal legal "
        "proceedings and criminal matters (GDPR Art. 10), and alimony marital status.",
        (("8111", "8111"), ("9211", "9223")),
    ),
    SensitiveMerchantGroup(
        "SMC07", "child care", "FC08",
        "Child-care payments reveal household structure, which Credo does not use.",
        (("8351", "8351"),),
    ),
)


@lru_cache(maxsize=10000)
def sensitive_group(code: str) -> SensitiveMerchantGroup | None:
    """The sensitive group a four-digit merchant category code falls in, if any."""
    for group in SENSITIVE_MERCHANT_GROUPS:
        if group.covers(code):
            return group
    return None


__all__ = ["SENSITIVE_MERCHANT_GROUPS", "SensitiveMerchantGroup", "sensitive_group"]
