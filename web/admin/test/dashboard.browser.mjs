// Drives the back office in Chromium against a running fleet: the edge serves the dashboard at
// ${EDGE_URL}/admin/ and the API under ${EDGE_URL}/api/v1/. Run by the fleet's admin dashboard
// test (services/fleet/tests/api/admin_dashboard.rs), which prepares the member and the logins.
//
// Environment:
//   EDGE_URL                          the edge (required)
//   ADMIN_EMAIL, ADMIN_PASSWORD       an admin of the demo business (required)
//   SUPPORT_EMAIL, SUPPORT_PASSWORD   a support login of the same business (required)
//   MEMBER_EMAIL                      a member with a points account (required)
//   DEAD_JOB_ID                       a dead payment job to retry (optional)
//   ADJUST_POINTS                     the adjustment to make (default 250)
//   CHROMIUM                          the browser (default /usr/bin/chromium)
//   SCREENSHOT_DIR                    where each page's screenshot goes (default test-results/)
//
// Prints one JSON line with what it saw, last; exits non-zero on any failed check.
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

function required(name) {
  const value = process.env[name];
  assert.ok(value, `${name} must be set`);
  return value;
}

const edge = required("EDGE_URL").replace(/\/+$/, "");
const dashboard = `${edge}/admin/`;
const admin = { email: required("ADMIN_EMAIL"), password: required("ADMIN_PASSWORD") };
const support = { email: required("SUPPORT_EMAIL"), password: required("SUPPORT_PASSWORD") };
const memberEmail = required("MEMBER_EMAIL");
const deadJobId = process.env.DEAD_JOB_ID || undefined;
const adjustBy = Number(process.env.ADJUST_POINTS ?? 250);
assert.ok(Number.isInteger(adjustBy) && adjustBy !== 0, "ADJUST_POINTS must be a non-zero integer");
const screenshotDir =
  process.env.SCREENSHOT_DIR || fileURLToPath(new URL("../test-results/", import.meta.url));
mkdirSync(screenshotDir, { recursive: true });
// The screenshots of an earlier run go, so that the directory shows this run's pages only.
for (const name of readdirSync(screenshotDir)) {
  if (/^\d\d-[a-z-]+\.png$/.test(name)) rmSync(join(screenshotDir, name));
}

const SESSION_KEY = "tessera.admin.session";
const TIMEOUT = 20_000;

const observed = {
  overview: null,
  member: null,
  support: null,
  deadJob: null,
  pages: [],
  screenshots: [],
};

// ---------------------------------------------------------------------------------------------
// The API, called directly with the token the dashboard holds.

async function call(token, method, path, body, headers = {}) {
  const response = await fetch(`${edge}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return { status: response.status, body: parsed };
}

async function apiGet(token, path) {
  const answer = await call(token, "GET", path);
  assert.equal(answer.status, 200, `GET ${path}: ${JSON.stringify(answer.body)}`);
  return answer.body;
}

// ---------------------------------------------------------------------------------------------
// The page.

async function shot(page, name) {
  const file = join(screenshotDir, `${String(observed.screenshots.length + 1).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  observed.screenshots.push(file);
}

async function heading(page, name) {
  const h1 = page.getByRole("heading", { level: 1, name });
  await h1.waitFor({ timeout: TIMEOUT });
  return h1;
}

async function sessionToken(page) {
  const token = await page.evaluate((key) => {
    const raw = sessionStorage.getItem(key);
    return raw ? JSON.parse(raw).accessToken : null;
  }, SESSION_KEY);
  assert.ok(token, "the dashboard holds an access token once signed in");
  return token;
}

async function signIn(page, who) {
  await page.goto(dashboard);
  await heading(page, "Sign in");
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await heading(page, "Overview");
  return sessionToken(page);
}

async function signOut(page) {
  await page.getByRole("button", { name: "Sign out" }).click();
  await heading(page, "Sign in");
  const left = await page.evaluate((key) => sessionStorage.getItem(key), SESSION_KEY);
  assert.equal(left, null, "signing out forgets the session");
}

async function go(page, link, title) {
  await page.getByRole("navigation", { name: "Back office" }).getByRole("link", { name: link, exact: true }).click();
  return heading(page, title);
}

/** The rows of a table found by its accessible name, as { rowHeader: [cell values] }. */
async function readTable(page, name) {
  const table = page.getByRole("table", { name, exact: true });
  if ((await table.count()) === 0) return null;
  return table.evaluate((el) =>
    Array.from(el.tBodies[0]?.rows ?? []).map((row) =>
      Array.from(row.cells).map((cell) => {
        const data = cell.querySelector("data");
        return data ? data.value : (cell.textContent ?? "").trim();
      }),
    ),
  );
}

/** A label/value table as { label: value }, values as the machine-readable figure when given. */
async function readFacts(page, name) {
  const rows = await readTable(page, name);
  assert.ok(rows, `the page shows the table "${name}"`);
  return Object.fromEntries(rows.map(([label, value]) => [label, value]));
}

/** Error alerts on the page (the API's problem titles and details). */
async function alerts(page) {
  const found = page.getByRole("alert");
  const texts = [];
  for (let i = 0; i < (await found.count()); i++) {
    texts.push(((await found.nth(i).textContent()) ?? "").trim());
  }
  return texts;
}

/** Waits until the page has loaded what it asked the API for. */
async function settle(page) {
  await page.waitForLoadState("networkidle").catch(() => {});
  const loading = page.getByRole("status").filter({ hasText: /^Loading/ });
  const deadline = Date.now() + TIMEOUT;
  while ((await loading.count()) > 0) {
    assert.ok(Date.now() < deadline, "the page keeps loading");
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function eventually(what, check, timeout = TIMEOUT) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await check();
    if (last.ok) return last;
    if (Date.now() > deadline) {
      assert.fail(`${what}: ${JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function visit(page, name, open, { allowAlerts = false } = {}) {
  await open();
  await settle(page);
  const found = await alerts(page);
  observed.pages.push({ page: name, alerts: found });
  await shot(page, name);
  if (!allowAlerts) {
    assert.deepEqual(found, [], `the ${name} page shows no error`);
  }
}

// ---------------------------------------------------------------------------------------------
// The overview: its figures are the API's.

async function overviewFigures(page) {
  await page.getByRole("table", { name: "Program totals", exact: true }).waitFor({ timeout: TIMEOUT });
  await settle(page);
  const totals = await readFacts(page, "Program totals");
  const perDay = (await readTable(page, "Redemptions per day")) ?? [];
  const top = (await readTable(page, "Top rewards")) ?? [];
  return {
    stats: {
      members: Number(totals["Members"]),
      points_earned_total: Number(totals["Points earned"]),
      charges_succeeded: Number(totals["Charges succeeded"]),
    },
    rewards: {
      per_day: perDay.map(([day, redeemed, used, cancelled]) => ({
        day,
        redeemed: Number(redeemed),
        used: Number(used),
        cancelled: Number(cancelled),
      })),
      top_rewards: top.map(([reward_name, redeemed, used, cancelled, points]) => ({
        reward_name,
        redeemed: Number(redeemed),
        used: Number(used),
        cancelled: Number(cancelled),
        points: Number(points),
      })),
    },
  };
}

async function apiOverview(token) {
  const stats = await apiGet(token, "/api/v1/admin/stats");
  const rewards = await apiGet(token, "/api/v1/admin/rewards/stats?days=30&top=10");
  return {
    stats: {
      members: stats.members,
      points_earned_total: stats.points_earned_total,
      charges_succeeded: stats.charges_succeeded,
    },
    rewards: {
      per_day: rewards.per_day.map(({ day, redeemed, used, cancelled }) => ({ day, redeemed, used, cancelled })),
      top_rewards: rewards.top_rewards.map(({ reward_name, redeemed, used, cancelled, points }) => ({
        reward_name,
        redeemed,
        used,
        cancelled,
        points,
      })),
    },
  };
}

async function checkOverview(page, token) {
  // The read models follow events; if one lands between the page's read and ours, read both again.
  let ui;
  let api;
  for (let attempt = 1; attempt <= 5; attempt++) {
    ui = await overviewFigures(page);
    api = await apiOverview(token);
    if (JSON.stringify(ui) === JSON.stringify(api)) break;
    await page.reload();
    await heading(page, "Overview");
  }
  assert.deepEqual(ui, api, "the overview shows the API's figures");
  const chart = page.getByRole("img", { name: /^Program totals:/ });
  assert.equal(await chart.count(), 1, "the program totals are charted");
  const label = await chart.getAttribute("aria-label");
  assert.ok(label.includes(`Members ${api.stats.members.toLocaleString("en-AU")}`), label);
  observed.overview = { ui, api, equal: true };
}

// ---------------------------------------------------------------------------------------------
// Members.

async function openMember(page) {
  await go(page, "Members", "Members");
  await page.getByRole("radio", { name: "Email" }).check();
  await page.getByLabel("Email address").fill(memberEmail);
  await page.getByRole("button", { name: "Find" }).click();
  const result = page.getByRole("region", { name: "Search result" });
  await result.waitFor({ timeout: TIMEOUT });
  await page.getByRole("link", { name: "Open member" }).click();
  await heading(page, /^Member: /);
  await page.getByRole("table", { name: "Points balance", exact: true }).waitFor({ timeout: TIMEOUT });
  await page.getByRole("table", { name: "Profile", exact: true }).waitFor({ timeout: TIMEOUT });
  await settle(page);
  const memberId = /#\/members\/([0-9a-f-]{36})/.exec(page.url())?.[1];
  assert.ok(memberId, `the member page's address names the member: ${page.url()}`);
  return memberId;
}

async function totalPoints(page) {
  const facts = await readFacts(page, "Points balance");
  return Number(facts["Total points"]);
}

async function adjustAsAdmin(page, token) {
  const memberId = await openMember(page);
  const profile = await readFacts(page, "Profile");
  assert.equal(profile["Email"], memberEmail.toLowerCase(), "the member found is the one asked for");
  const before = await totalPoints(page);
  const apiBefore = (await apiGet(token, `/api/v1/points/${memberId}/balance`)).total_points;
  assert.equal(before, apiBefore, "the member page shows the API's balance");
  await shot(page, "member");

  const form = page.getByRole("form", { name: "Adjust points" });
  await form.getByLabel("Points").fill(String(adjustBy));
  await form.getByLabel("Reason").fill("Goodwill credit: late delivery (dashboard test)");
  await form.getByRole("button", { name: "Adjust points" }).click();
  await page.getByRole("status").filter({ hasText: /Adjusted by/ }).waitFor({ timeout: TIMEOUT });
  const shown = await eventually("the member page shows the adjusted balance", async () => {
    const now = await totalPoints(page);
    return { ok: now === before + adjustBy, now, before };
  });
  const apiAfter = (await apiGet(token, `/api/v1/points/${memberId}/balance`)).total_points;
  assert.equal(shown.now, apiAfter, "the balance shown is the API's");
  const history = (await readTable(page, "Points history")) ?? [];
  const adjustRow = history.find((cells) => cells[1] === "Adjust" && Number(cells[2]) === adjustBy);
  assert.ok(adjustRow, `the history lists the adjustment: ${JSON.stringify(history)}`);
  await settle(page);
  const memberAlerts = await alerts(page);
  await shot(page, "member-adjusted");
  assert.deepEqual(memberAlerts, [], "the member page shows no error");
  observed.member = {
    id: memberId,
    email: memberEmail,
    balanceBefore: before,
    adjustedBy: adjustBy,
    uiBalance: shown.now,
    apiBalance: apiAfter,
  };
  return memberId;
}

// ---------------------------------------------------------------------------------------------
// Support: sees everything, changes only what its role may.

async function asSupport(page, token, memberId) {
  await openMember(page);
  const balance = await totalPoints(page);
  const adjustForm = page.getByRole("form", { name: "Adjust points" });
  const adjustOpen = await adjustForm.getByLabel("Points").isEnabled();

  const tierForm = page.getByRole("form", { name: "Tier override" });
  const overrideButton = tierForm.getByRole("button", { name: "Override tier" });
  const overrideEnabled = (await overrideButton.count()) > 0 && (await overrideButton.isEnabled());
  assert.equal(overrideEnabled, false, "support has no enabled tier override");
  const eraseButton = page.getByRole("button", { name: "Erase member…" });
  const eraseEnabled = (await eraseButton.count()) > 0 && (await eraseButton.isEnabled());
  assert.equal(eraseEnabled, false, "support has no enabled erase");
  await shot(page, "member-as-support");

  // The controls only follow the API: it refuses support the same change.
  const expires = new Date(Date.now() + 7 * 86_400_000).toISOString();
  const override = await call(token, "PUT", `/api/v1/points/${memberId}/tier-override`, {
    tier: "GOLD",
    reason: "dashboard test: support may not",
    expires_at: expires,
  });
  assert.equal(override.status, 403, `the API refuses support a tier override: ${JSON.stringify(override.body)}`);

  observed.support = {
    balanceSeen: balance,
    adjustControlEnabled: adjustOpen,
    tierOverrideControlEnabled: overrideEnabled,
    eraseControlEnabled: eraseEnabled,
    tierOverrideStatus: override.status,
    tierOverrideProblem: override.body?.title ?? null,
  };

  await go(page, "Dead jobs", "Dead jobs");
  await settle(page);
  if (deadJobId) {
    const retry = page.getByRole("button", { name: `Retry job ${deadJobId}` });
    await retry.waitFor({ timeout: TIMEOUT });
    observed.support.retryControlEnabled = await retry.isEnabled();
    assert.equal(observed.support.retryControlEnabled, false, "support cannot retry a dead job");
    const refused = await call(token, "POST", `/api/v1/payments/jobs/${deadJobId}/retry`);
    assert.equal(refused.status, 403, `the API refuses support a retry: ${JSON.stringify(refused.body)}`);
    observed.support.retryStatus = refused.status;
  }
  await shot(page, "dead-jobs-as-support");
  const nav = await page
    .getByRole("navigation", { name: "Back office" })
    .getByRole("link")
    .allTextContents();
  observed.support.navigation = nav;
  assert.ok(!nav.includes("Partner clients"), "support is not offered partner clients");
}

// ---------------------------------------------------------------------------------------------
// Admin: retries the dead job.

async function retryDeadJob(page, token) {
  await go(page, "Dead jobs", "Dead jobs");
  const retry = page.getByRole("button", { name: `Retry job ${deadJobId}` });
  await retry.waitFor({ timeout: TIMEOUT });
  await shot(page, "dead-jobs");
  await retry.click();
  await page.getByRole("status").filter({ hasText: deadJobId }).waitFor({ timeout: TIMEOUT });
  await eventually("the job leaves the dead list on the page", async () => {
    const rows = await page.getByRole("row").filter({ hasText: deadJobId }).count();
    return { ok: rows === 0, rows };
  });
  const dead = await apiGet(token, "/api/v1/payments/jobs/dead?limit=200");
  const stillDead = dead.items.some((job) => job.id === deadJobId);
  assert.equal(stillDead, false, "the API no longer lists the job as dead");
  await shot(page, "dead-jobs-retried");
  observed.deadJob = { id: deadJobId, retried: true, leftDeadList: !stillDead };
}

// ---------------------------------------------------------------------------------------------

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  // Chromium's sandbox needs a non-root user; CI runs as root.
  args: ["--no-sandbox"],
});
const pageErrors = [];
try {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  page.on("pageerror", (error) => pageErrors.push(error.message));

  await page.goto(dashboard);
  await heading(page, "Sign in");
  await shot(page, "sign-in");

  // A wrong password is refused with the API's problem.
  await page.getByLabel("Email").fill(admin.email);
  await page.getByLabel("Password").fill(`${admin.password}-wrong`);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").waitFor({ timeout: TIMEOUT });
  observed.signInRefused = ((await page.getByRole("alert").textContent()) ?? "").trim();

  let token = await signIn(page, admin);
  await settle(page);
  await checkOverview(page, token);
  await shot(page, "overview");

  const memberId = await adjustAsAdmin(page, token);

  await visit(page, "payments", async () => {
    await go(page, "Payments", "Payments");
    await page.getByRole("table", { name: "Charges", exact: true }).waitFor({ timeout: TIMEOUT });
  });
  await visit(page, "payments-filtered", async () => {
    await page.getByLabel("Member id").fill(memberId);
    await page.getByLabel("Status").selectOption("succeeded");
    await page.getByRole("button", { name: "Apply filters" }).click();
    await page.getByRole("table", { name: "Charges", exact: true }).waitFor({ timeout: TIMEOUT });
  });
  await visit(page, "charge", async () => {
    await page.getByRole("link", { name: /^Charge / }).first().click();
    await heading(page, "Charge");
    await page.getByRole("table", { name: "Charge details" }).waitFor({ timeout: TIMEOUT });
  });
  await visit(page, "partner-clients", () => go(page, "Partner clients", "Partner clients"));
  await visit(page, "staff", () => go(page, "Staff", "Staff"));
  await visit(page, "rewards", () => go(page, "Rewards", "Rewards"));
  await visit(page, "campaigns", () => go(page, "Campaigns", "Campaigns"));
  const firstCampaign = page.getByRole("table", { name: "Campaigns" }).getByRole("link").first();
  if ((await firstCampaign.count()) > 0) {
    await visit(page, "campaign", async () => {
      await firstCampaign.click();
      await heading(page, /^Campaign: /);
    });
  }
  await signOut(page);

  token = await signIn(page, support);
  await settle(page);
  await shot(page, "overview-as-support");
  await asSupport(page, token, memberId);
  await signOut(page);

  if (deadJobId) {
    token = await signIn(page, admin);
    await retryDeadJob(page, token);
    await signOut(page);
  }

  assert.deepEqual(pageErrors, [], "no script error on any page");
} finally {
  await browser.close();
}

console.log(JSON.stringify({ ok: true, ...observed, pageErrors }));
