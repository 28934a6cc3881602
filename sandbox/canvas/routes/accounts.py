"""Account routes: accounts, sub-accounts, terms, an account's courses and users (docs/canvas-api.md 4.1)."""

from __future__ import annotations

from ..http import Ctx, Reply
from ..institution import Institution
from ..model import Course
from ..pagination import paginate_numbered
from ..payloads import account_json, course_json, term_json, user_json
from . import Room

COURSE_STATE_ALIASES = {"created": "unpublished", "claimed": "unpublished"}


class AccountRoutes(Room):
    ROUTES = (
        ("GET", "/accounts", "accounts_index"),
        ("GET", "/accounts/<account_id>", "account_show"),
        ("GET", "/accounts/<account_id>/sub_accounts", "sub_accounts"),
        ("GET", "/accounts/<account_id>/terms", "terms"),
        ("GET", "/accounts/<account_id>/courses", "account_courses"),
        ("GET", "/accounts/<account_id>/users", "account_users"),
        ("GET", "/users/self", "user_self"),
    )

    def accounts_index(self, ctx: Ctx) -> Reply:
        """GET /accounts: the accounts the caller administers (the root for an admin)."""
        rows = [self.inst.root] if ctx.token.admin else []
        page, link = paginate_numbered(rows, ctx.args, ctx.link_base)
        return Reply([account_json(a) for a in page], len(page), link)

    def account_show(self, ctx: Ctx, account_id: str) -> Reply:
        """GET /accounts/:id."""
        return Reply(account_json(self.find.account(ctx, account_id)))

    def sub_accounts(self, ctx: Ctx, account_id: str) -> Reply:
        """GET /accounts/:id/sub_accounts (`recursive=true` for all levels); no rel=last."""
        account = self.find.account(ctx, account_id)
        if ctx.flag("recursive"):
            rows = self.inst.descendants(account.id)
        else:
            rows = sorted(self.inst.children.get(account.id, []), key=lambda a: a.id)
        page, link = paginate_numbered(rows, ctx.args, ctx.link_base, total_known=False)
        return Reply([account_json(a) for a in page], len(page), link)

    def terms(self, ctx: Ctx, account_id: str) -> Reply:
        """GET /accounts/:id/terms, wrapped in {"enrollment_terms": [...]}; terms belong to the root."""
        account = self.find.account(ctx, account_id)
        states = set(ctx.values("workflow_state")) or {"active"}
        rows = self.inst.terms if account.id == self.inst.root.id and states & {"active", "all"} else []
        name = ctx.args.get("term_name")
        if name:
            rows = [t for t in rows if name.lower() in t.name.lower()]
        page, link = paginate_numbered(rows, ctx.args, ctx.link_base)
        return Reply({"enrollment_terms": [term_json(t, self.inst) for t in page]}, len(page), link)

    def account_courses(self, ctx: Ctx, account_id: str) -> Reply:
        """GET /accounts/:id/courses (sub-accounts' courses included); ordered by id; no rel=last."""
        inst = self.inst
        account = self.find.account(ctx, account_id)
        rows: list[Course] = inst.account_courses[account.id]
        states = {COURSE_STATE_ALIASES.get(s, s) for s in ctx.values("state")}
        if states and "all" not in states:
            rows = [c for c in rows if c.workflow_state in states]
        elif not states:  # the default is all but deleted (SIS imports can delete courses)
            rows = [c for c in rows if c.workflow_state != "deleted"]
        term = ctx.args.get("enrollment_term_id")
        if term:
            term_id = _term_id(inst, term)
            rows = [c for c in rows if c.enrollment_term_id == term_id]
        subs = ctx.values("by_subaccounts")
        if subs:
            allowed = {
                c.id
                for s in subs
                if s.isdigit() and int(s) in inst.account_courses
                for c in inst.account_courses[int(s)]
            }
            rows = [c for c in rows if c.id in allowed]
        if ctx.args.get("published") is not None:
            want = ctx.flag("published")
            rows = [c for c in rows if (c.workflow_state != "unpublished") == want]
        search = ctx.args.get("search_term")
        if search and len(search) >= 3:
            needle = search.lower()
            rows = [
                c
                for c in rows
                if needle in c.name.lower()
                or needle in c.course_code.lower()
                or needle in (c.sis_course_id or "").lower()
            ]
        include_term = "term" in ctx.values("include")
        page, link = paginate_numbered(rows, ctx.args, ctx.link_base, total_known=False)
        return Reply([course_json(c, inst, include_term) for c in page], len(page), link)

    def account_users(self, ctx: Ctx, account_id: str) -> Reply:
        """GET /accounts/:id/users (sort=username|id|sis_id|email|last_login, order); no rel=last."""
        inst = self.inst
        account = self.find.account(ctx, account_id)
        sort = ctx.args.get("sort") or "username"
        rows = inst.users_by_sortable_name
        if account.id != inst.root.id:  # a sub-account's users are those enrolled in its courses
            ids = {e.user.id for c in inst.account_courses[account.id] for e in c.enrollments}
            rows = [u for u in rows if u.id in ids]
        if sort == "id":
            rows = sorted(rows, key=lambda u: u.id)
        elif sort == "sis_id":
            rows = sorted(rows, key=lambda u: (u.sis_user_id is None, u.sis_user_id or "", u.id))
        elif sort == "email":
            rows = sorted(rows, key=lambda u: (u.email, u.id))
        elif sort == "last_login":
            rows = sorted(rows, key=lambda u: (u.last_login is None, u.last_login or 0, u.id))
        search = ctx.args.get("search_term")
        if search and len(search) >= 3:
            needle = search.lower()
            rows = [
                u
                for u in rows
                if needle in u.name.lower()
                or needle in u.login_id
                or needle in (u.sis_user_id or "").lower()
                or needle in u.email
            ]
        if (ctx.args.get("order") or "asc") == "desc":
            rows = rows[::-1]
        include = frozenset(ctx.values("include"))
        page, link = paginate_numbered(rows, ctx.args, ctx.link_base, total_known=False)
        return Reply([user_json(u, include) for u in page], len(page), link)

    def user_self(self, ctx: Ctx) -> Reply:
        """GET /users/self: the token's user."""
        return Reply(user_json(self.inst.users_by_id[ctx.token.user_id]))


def _term_id(inst: Institution, raw: str) -> int:
    if raw.startswith("sis_term_id:"):
        sis = raw.split(":", 1)[1]
        return next((t.id for t in inst.terms if t.sis_term_id == sis), -1)
    return int(raw) if raw.isdigit() else -1
