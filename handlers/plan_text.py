"""How a plan is described: its place, its one-line label and its detail page text."""

from __future__ import annotations

import html
from typing import Any

from bot.countries import country_name, flag
from bot.i18n import catalog, t
from handlers.context import BotContext
from handlers.units import days_text, shown_price, volume_text
from storage import Plan

_MAX_LISTED_COUNTRIES = 30


def region_name(language: str, code: str, fallback: str | None = None) -> str:
    """Our translation of a region code, else the reseller's own name for it."""
    key = f"region.{code}"
    return catalog(language).get(key) or fallback or catalog("en").get(key) or code


def place_of(plan: Plan, language: str) -> str:
    if plan.scope == "country" and plan.countries:
        return f"{flag(plan.countries[0])} {country_name(plan.countries[0], language)}"
    if plan.scope == "global":
        return "🌐 " + region_name(language, "GL", plan.region)
    return "🗺 " + region_name(language, plan.location, plan.region)


def plan_label(context: BotContext, language: str, plan: Plan, with_place: bool = False) -> str:
    """ "1 GB · 7 days · ⭐ 420", optionally led by the plan's place."""
    values = {
        "volume": volume_text(language, plan.volume_bytes),
        "days": days_text(language, plan.duration_days),
        "price": shown_price(context, language, plan.price_cents),
    }
    if with_place:
        return t(language, "browse.plan_button_place", place=place_of(plan, language), **values)
    return t(language, "browse.plan_button", **values)


def plan_details(context: BotContext, language: str, plan: Plan) -> str:
    details = plan.details or {}
    price = shown_price(context, language, plan.price_cents)
    lines = [
        t(
            language,
            "browse.plan.title",
            place=html.escape(place_of(plan, language)),
            name=html.escape(plan.name),
        ),
        "",
        t(language, "browse.plan.data", volume=volume_text(language, plan.volume_bytes)),
        t(language, "browse.plan.validity", days=days_text(language, plan.duration_days)),
    ]
    if details.get("speed"):
        lines.append(t(language, "browse.plan.speed", speed=html.escape(str(details["speed"]))))
    lines += _coverage_lines(language, plan)
    lines.append(
        t(language, "browse.plan.topup_yes" if plan.supports_topup else "browse.plan.topup_no")
    )
    starts = {1: "install", 2: "connect"}.get(details.get("active_type") or 0)
    if starts:
        lines.append(t(language, f"browse.plan.starts_{starts}"))
    lines.append(_privacy_line(language, plan))
    if details.get("non_refundable"):
        lines.append(t(language, "browse.plan.non_refundable"))
    lines += ["", t(language, "browse.plan.price", price=price)]
    return "\n".join(lines)


def _networks(plan: Plan) -> list[dict[str, Any]]:
    networks = (plan.details or {}).get("networks") or []
    if networks:
        return [n for n in networks if isinstance(n, dict)]
    return [{"country": iso, "name": iso, "operators": []} for iso in plan.countries]


def _network_country(language: str, network: dict[str, Any]) -> str:
    iso = network.get("country")
    if isinstance(iso, str) and len(iso) == 2:
        return f"{flag(iso)} {html.escape(country_name(iso, language))}"
    return html.escape(str(network.get("name") or "?"))


def _coverage_lines(language: str, plan: Plan) -> list[str]:
    networks = _networks(plan)
    if len(networks) <= 3:  # few countries: name the operators and their network types
        lines = [t(language, "browse.plan.coverage")]
        for network in networks:
            operators = [
                t(
                    language,
                    "browse.plan.operator",
                    name=html.escape(str(op.get("name") or "?")),
                    type=html.escape(str(op.get("network_type") or "—")),
                )
                for op in network.get("operators") or []
                if isinstance(op, dict)
            ]
            line = _network_country(language, network)
            if operators:
                line += ": " + ", ".join(operators)
            lines.append("  " + line)
        return lines
    names = sorted(_network_country(language, network) for network in networks)
    shown = names[:_MAX_LISTED_COUNTRIES]
    text = ", ".join(shown)
    if len(names) > len(shown):
        text += " " + t(language, "browse.plan.more", count=len(names) - len(shown))
    return [t(language, "browse.plan.coverage_many", count=len(names), countries=text)]


def _privacy_line(language: str, plan: Plan) -> str:
    exit_code = (plan.details or {}).get("ip_export")
    if not exit_code:
        return t(language, "browse.plan.exit_unknown")
    code = str(exit_code).upper()
    if len(code) == 2 and code.isalpha():
        where = f"{flag(code)} {html.escape(country_name(code, language))}"
    else:
        where = html.escape(str(exit_code))
    key = "browse.plan.exit_private" if plan.max_privacy else "browse.plan.exit"
    return t(language, key, where=where)
