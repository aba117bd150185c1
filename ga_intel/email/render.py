"""Reports to email messages: Jinja2 templates shipped in the package, a tenant's
overrides on top, CSS inlined for Outlook, and a plain-text alternative.

Tenant templates are untrusted input, so everything renders in Jinja's sandbox, bounded
(email/sandbox.py), with StrictUndefined: a misspelt variable fails when the template is
saved (`check_overrides`, run by the tenant-file validator), not in the morning batch.
A tenant's subject, intro or template renders in a child process with a time and memory
limit (email/isolated.py), at save and at send; reading settings never renders.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

import css_inline
import jinja2
from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from ga_intel.email import isolated
from ga_intel.email.content import SUMMARY, Figure, RepList, Report, TaskGroup, TaskLine
from ga_intel.email.sandbox import BoundedEnvironment, LimitExceeded, render_bounded
from ga_intel.email.sanitize import clean_html

PACKAGED = {"branch": "branch_report.html", "summary": "summary_report.html"}
OVERRIDE_FIELD = {"branch": "branch_template", "summary": "summary_template"}
# A tenant template that drops one of these would send a report without its substance.
REQUIRED_BLOCKS = {"branch": {"figures", "tasks", "links"}, "summary": {"figures", "branches", "links"}}
DEFAULT_SUBJECT = {
    "branch": "{{ branch_name }}: {{ open_tasks }} open tasks, {{ revenue }} revenue on {{ date_short }}",
    "summary": "{{ tenant_name }} daily summary for {{ date_short }}: {{ revenue }} revenue",
}


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


# --- formatting -------------------------------------------------------------------------

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$"}


def money(value, currency: str = "USD") -> str:
    if value is None:
        return "–"
    symbol = _SYMBOLS.get(currency)
    amount = f"{float(value):,.2f}"
    return f"{symbol}{amount}" if symbol else f"{amount} {currency}"


def figure(value, kind: str, currency: str = "USD") -> str:
    if value is None:
        return "–"
    if kind == "money":
        return money(value, currency)
    if kind == "percent":
        return f"{float(value) * 100:.1f}%"
    return f"{float(value):,.0f}"


def change_badge(fig: Figure) -> Markup:
    """The change against the previous period, as insights/change.py says it ('new', '×12',
    '+8%', '+1.2 pp'), green when it is good news."""
    text = fig.change_text
    if text is None:
        return Markup("")
    up = fig.value is not None and fig.previous is not None and fig.value >= fig.previous
    css = "up" if up == fig.higher_is_better else "down"
    arrow = "▲" if up else "▼"
    return Markup('<span class="{}">{} {}</span>').format(css, arrow, text.lstrip("+−"))


# --- environment ------------------------------------------------------------------------


@cache
def _env(text: bool = False) -> SandboxedEnvironment:
    env = BoundedEnvironment(
        loader=jinja2.PackageLoader("ga_intel.email", "templates"),
        autoescape=not text,
        undefined=jinja2.StrictUndefined,
        trim_blocks=text,
        lstrip_blocks=text,
        keep_trailing_newline=True,
    )
    env.filters.update(money=money, figure=figure, change_badge=change_badge)
    return env


def _variables(report: Report, settings, subject: str | None = None) -> dict:
    revenue = next((f.value for f in report.day_figures if f.label == "Revenue"), None)
    audience = "the daily summary" if report.kind == "summary" else f"branch {report.branch_name}"
    variables = {
        "kind": report.kind,
        "tenant_name": report.tenant_name,
        "tenant_id": report.tenant_id,
        "branch_code": report.branch_code,
        "branch_name": report.branch_name,
        "date": report.day.isoformat(),
        "date_short": report.day.strftime("%a %d %b"),
        "date_label": report.day.strftime("%A, %d %B %Y"),
        "title": f"{report.branch_name} — daily report"
        if report.kind == "branch"
        else f"{report.tenant_name} — daily summary",
        "currency": report.currency,
        "revenue": money(revenue, report.currency),
        "figures": list(zip(report.day_figures, report.week_figures)),
        "day_figures": report.day_figures,
        "week_figures": report.week_figures,
        "task_groups": report.task_groups,
        "rep_lists": report.rep_lists,
        "open_tasks": report.open_tasks,
        "branches": report.branches,
        "data_incomplete": report.data_incomplete,
        "incomplete_reason": report.incomplete_reason,
        "links": report.links,
        "audience": audience,
        "logo_url": settings.logo_url,
        "primary_color": settings.primary_color,
    }
    variables["intro"] = _render_string(settings.intro, variables) if settings.intro else None
    variables["subject"] = subject or ""
    return variables


def _render_string(source: str, variables: dict, text: bool = False) -> str:
    return render_bounded(_env(text).from_string(source), variables)


def _template(report_kind: str, settings) -> jinja2.Template:
    override = getattr(settings, OVERRIDE_FIELD[report_kind])
    if override:
        return _env().from_string(override)
    return _env().get_template(PACKAGED[report_kind])


def has_overrides(settings) -> bool:
    return any(getattr(settings, f) for f in ("subject", "intro", *OVERRIDE_FIELD.values()))


def render(report: Report, settings) -> RenderedEmail:
    """The subject, HTML (CSS inlined) and plain text of one report. `settings` is the
    tenant's EmailSettings. With tenant overrides this runs in a limited child process."""
    if has_overrides(settings):
        return isolated.run(_render, report, settings)
    return _render(report, settings)


def _render(report: Report, settings) -> RenderedEmail:
    variables = _variables(report, settings)
    subject_source = settings.subject or DEFAULT_SUBJECT[report.kind]
    # Subjects are header text: render without HTML escaping, then flatten whitespace.
    subject = " ".join(_render_string(subject_source, variables, text=True).split())
    variables["subject"] = subject
    html = render_bounded(_template(report.kind, settings), variables)
    html = clean_html(css_inline.inline(html))  # tenant templates' own markup is not trusted (finding 2)
    text = render_bounded(
        _env(text=True).get_template("report.txt"), {**variables, "intro": _plain(variables["intro"])}
    )
    return RenderedEmail(subject, html, text)


def _plain(html: str | None) -> str | None:
    if not html:
        return html
    import re

    return re.sub(r"<[^>]+>", "", html).strip()


# --- validation of tenant overrides -----------------------------------------------------


def _blocks(env: SandboxedEnvironment, source: str, seen: int = 0) -> set[str]:
    """Block names a template defines itself or inherits through `{% extends %}`."""
    tree = env.parse(source)
    names = {b.name for b in tree.find_all(nodes.Block)}
    for ext in tree.find_all(nodes.Extends):
        if isinstance(ext.template, nodes.Const) and seen < 5:
            parent_source, _, _ = env.loader.get_source(env, ext.template.value)
            names |= _blocks(env, parent_source, seen + 1)
    return names


def sample_report(kind: str) -> Report:
    """A report with every part filled, to test-render templates against."""
    day = dt.date(2026, 1, 15)
    figs = [
        Figure("Revenue", 1234.5, 1000.0, "money"),
        Figure("Session conversion", 0.031, 0.025, "percent"),
        Figure("Orders", 12, None, "count"),
    ]
    task = TaskLine(
        "cart:user:1:2026-01-15",
        "Recover the cart of Ada",
        Decimal("250.00"),
        1,
        day,
        "open",
        "Rep One",
        "Acme Supply",
        "Ada Lovelace",
        "ada@example.com",
        "+1 555 0100",
        ["Hammer × 2"],
        task_type="cart_recovery",
        type_label="Cart recovery",
        is_new=True,
    )
    groups = [TaskGroup("cart_recovery", "Cart recovery", 3, [])]
    lists = [RepList("Rep One", "rep.one@example.com", 3, 1, [task], "https://dash.example/tasks?rep=rep.one")]
    branches = [
        {
            "branch_code": "B1",
            "branch_name": "North",
            "revenue": 1234.5,
            "transactions": 12,
            "sessions": 300,
            "carts_abandoned": 4,
            "open_tasks": 3,
        }
    ]
    return Report(
        "sample",
        "Sample Tenant",
        kind,
        "B1" if kind == "branch" else SUMMARY,
        "North" if kind == "branch" else "All branches",
        day,
        "USD",
        figs,
        figs,
        groups,
        rep_lists=lists if kind == "branch" else [],
        branches=branches if kind == "summary" else [],
        data_incomplete=True,
        incomplete_reason="GA4 data for 2026-01-15 is provisional",
        links={"dashboard": "https://dash.example/overview", "tasks": "https://dash.example/tasks"},
    )


def check_overrides(settings, render_check: bool = True) -> None:
    """Raise ValueError naming the first problem in a tenant's subject, intro or
    templates: a syntax error (with its line), an unknown variable, a sandbox violation,
    a whole template that lacks a required block, or one that runs over the limits.

    Parsing happens here; rendering (`render_check`) happens in a limited child process,
    one per field, so a limit names its field."""
    env = _env()
    for field_name in ("subject", "intro"):
        source = getattr(settings, field_name)
        if source:
            try:
                env.parse(source)
            except jinja2.TemplateSyntaxError as exc:
                raise ValueError(f"{field_name}: template syntax error on line {exc.lineno}: {exc.message}") from None
    for kind, field_name in OVERRIDE_FIELD.items():
        source = getattr(settings, field_name)
        if not source:
            continue
        try:
            missing = REQUIRED_BLOCKS[kind] - _blocks(env, source)
        except jinja2.TemplateSyntaxError as exc:
            raise ValueError(f"{field_name}: template syntax error on line {exc.lineno}: {exc.message}") from None
        except jinja2.TemplateNotFound as exc:
            raise ValueError(
                f"{field_name}: extends unknown template {exc.name!r} "
                f"(the packaged ones are {', '.join(sorted(PACKAGED.values()))}, _base.html)"
            ) from None
        if missing:
            raise ValueError(
                f"{field_name}: missing required block(s) {', '.join(sorted(missing))} "
                f"(a {kind} report must define {', '.join(sorted(REQUIRED_BLOCKS[kind]))})"
            )
    if not render_check:
        return
    for field_name in ("subject", "intro", *OVERRIDE_FIELD.values()):
        if getattr(settings, field_name):
            try:
                problem = isolated.run(_render_problem, settings, field_name)
            except isolated.TemplateLimitError as exc:
                raise ValueError(f"{field_name}: {exc.message} ({exc.hint})") from None
            if problem:
                raise ValueError(problem)


def _render_problem(settings, field_name: str) -> str | None:
    """In the child: render one field against the sample report; the problem, or None."""
    if field_name in ("subject", "intro"):
        source = getattr(settings, field_name)
        try:
            _render_string(
                source,
                _variables(sample_report("branch"), settings.model_copy(update={"intro": None})),
                text=field_name == "subject",
            )
        except jinja2.TemplateSyntaxError as exc:
            return f"{field_name}: template syntax error on line {exc.lineno}: {exc.message}"
        except LimitExceeded as exc:
            return f"{field_name}: {exc}"
        except (jinja2.UndefinedError, jinja2.exceptions.SecurityError, TypeError, ValueError, ArithmeticError) as exc:
            return f"{field_name}: {exc}"
        return None
    kind = next(k for k, f in OVERRIDE_FIELD.items() if f == field_name)
    try:
        _render(sample_report(kind), settings)
    except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError) as exc:
        return f"{field_name}: does not render: {exc}"
    return None
