"""Who may report what: partners, their API keys, consumers and consent to report."""

from credo.registry.consents import ConsentState, grant_report_consent, report_consent_states, withdraw_report_consent
from credo.registry.consumers import enrol_consumer
from credo.registry.partners import authenticate_api_key, issue_api_key, register_partner, revoke_api_key

__all__ = [
    "ConsentState", "authenticate_api_key", "enrol_consumer", "grant_report_consent", "issue_api_key",
    "register_partner", "report_consent_states", "revoke_api_key", "withdraw_report_consent",
]
