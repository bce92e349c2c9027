// The status page in a real browser: Debian's chromium driven by playwright-core (never a downloaded
// browser). What a person sees, in Persian (right to left, Persian digits, Jalali date) and in English, on a
// laptop and on a phone; and an outage injected into a demo agency through the simulator's control API
// turning its inquiry offline on the page by itself (live refresh), then leaving offline once the agency
// answers again. Screenshots are kept in test-results/status-page/.
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findDocument, startTestGateway, type TestGateway } from "../helpers/gateway.ts";

const CHROMIUM = process.env.ESTELAM_TEST_CHROMIUM ?? "/usr/bin/chromium";
const SHOTS = resolve(import.meta.dirname, "../../test-results/status-page");
const POST = "post.address-by-postcode.v1";
const HOSTILE_TITLE = '<img src=x onerror="window.__hostile = 1">IBAN owner';

let gw: TestGateway;
let browser: Browser;

async function askPost(times: number): Promise<void> {
  for (let i = 0; i < times; i++)
    await gw.client.inquire({
      inquiryType: POST,
      params: { postal_code: "1193653471" },
      purpose: "kyc.address-verification",
      endUser: "ops",
    });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`the status page tests need chromium at ${CHROMIUM}: bash scripts/ensure-test-packages.sh installs Debian's package`);
  await mkdir(SHOTS, { recursive: true });
  gw = await startTestGateway({
    env: { ESTELAM_SCOREBOARD_FLUSH_MS: "200" },
    editDocuments: (documents) => {
      findDocument(documents, "Endpoint", "post/main").spec.breaker = { volumeThreshold: 3, resetTimeoutMs: 8000 };
      // Registry text is shown as text, never run as markup.
      findDocument(documents, "InquiryType", "cbi.iban-owner.v1").spec.title = { fa: "مالک شبا", en: HOSTILE_TITLE };
    },
  });
  await askPost(5);
  await gw.gateway.scoreboard.flush();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await gw?.close();
});

async function open(lang: "fa" | "en", viewport = { width: 1280, height: 900 }): Promise<Page> {
  const page = await browser.newPage({ viewport, locale: lang === "fa" ? "fa-IR" : "en-GB" });
  await page.goto(`${gw.gateway.httpUrl}/status?lang=${lang}`);
  await page.locator(`tr[data-inquiry-type="${POST}"]`).waitFor();
  return page;
}

const row = (page: Page, id: string) => page.locator(`tr[data-inquiry-type="${id}"]`);

/** What the served registry holds: the inquiry type without a connector, how many are connected, nocr's share. */
function registryFacts(): { unbound: string; connected: number; nocrOnline: number; nocrTotal: number; nocrPercent: number } {
  const snapshot = gw.gateway.registry.current();
  const types = [...snapshot.inquiryTypes.values()];
  const unbound = types.filter((t) => !snapshot.bindings.has(t.id));
  const nocr = types.filter((t) => t.agency === "nocr");
  const nocrOnline = nocr.filter((t) => snapshot.bindings.has(t.id)).length;
  if (unbound[0] === undefined) throw new Error("the demo registry has no inquiry type without a connector");
  return {
    unbound: unbound[0].id,
    connected: types.length - unbound.length,
    nocrOnline,
    nocrTotal: nocr.length,
    nocrPercent: Math.round((100 * nocrOnline) / nocr.length),
  };
}

/** Persian digits, as the page writes numbers. */
const persian = (n: number): string => String(n).replace(/\d/g, (d) => "۰۱۲۳۴۵۶۷۸۹"[Number(d)] as string);

describe("the status page", () => {
  it("in English: every connected demo inquiry online, the unbound one not connected, agencies ranked", async () => {
    const page = await open("en");
    try {
      expect(await page.getAttribute("html", "dir")).toBe("ltr");
      await expect.poll(() => page.title()).toBe("Inquiry status — Estelam");
      expect(await page.locator("h1").innerText()).toBe("Inquiry status");
      expect(await row(page, POST).locator(".badge").innerText()).toBe("Online");
      expect(await row(page, POST).innerText()).toContain("Address by postal code");
      const facts = registryFacts();
      expect(await row(page, facts.unbound).locator(".badge").innerText()).toBe("Not connected");
      expect(await row(page, facts.unbound).locator(".why").innerText()).toBe("no connector binding");
      expect(await page.locator(".card.online .n").innerText()).toBe(String(facts.connected));
      expect(await page.locator('tr[data-agency="nocr"]').innerText()).toMatch(
        new RegExp(
          `National Organization for Civil Registration[\\s\\S]*${facts.nocrOnline} of ${facts.nocrTotal}[\\s\\S]*${facts.nocrPercent} %[\\s\\S]*50–90 %`,
        ),
      );
      expect(await page.locator("#meta").innerText()).toMatch(
        /^Updated .* 20\d\d.* · registry revision 1 · 5-minute window · 1 gateway instance/,
      );
      // Charts are drawn from the data: 60 minutes of bars for the volume, a line per answering inquiry type.
      expect(await page.locator("#volume-chart svg rect").count()).toBeGreaterThan(0);
      expect(await row(page, "cbi.iban-owner.v1").innerText()).toContain(HOSTILE_TITLE);
      expect(await page.locator("#types img").count()).toBe(0);
      expect(await page.evaluate<unknown>("window.__hostile")).toBeUndefined();
      expect(await page.locator("#latency-legend li").allInnerTexts()).toContain(POST);
      // Today's sample of the trend, daily and weekly, with the share in its tooltip.
      expect(await page.locator('tr[data-agency="nocr"] td.daily svg title').textContent()).toMatch(
        new RegExp(`: ${facts.nocrPercent} %$`),
      );
      expect(await page.locator('tr[data-agency="nocr"] td.weekly svg circle').count()).toBe(1);
      await page.screenshot({ path: join(SHOTS, "en-laptop.png"), fullPage: true });
    } finally {
      await page.close();
    }
  });

  it("in Persian: right to left, Persian digits and a Jalali date", async () => {
    const page = await open("fa");
    try {
      expect(await page.getAttribute("html", "dir")).toBe("rtl");
      expect(await page.getAttribute("html", "lang")).toBe("fa");
      expect(await page.locator("h1").innerText()).toBe("وضعیت استعلام‌ها");
      expect(await row(page, POST).locator(".badge").innerText()).toBe("برخط");
      const facts = registryFacts();
      expect(await row(page, facts.unbound).locator(".badge").innerText()).toBe("متصل نشده");
      expect(await row(page, facts.unbound).locator(".why").innerText()).toBe("اتصالی تعریف نشده");
      expect(await page.locator(".card.online .n").innerText()).toBe(persian(facts.connected));
      expect(await page.locator('tr[data-agency="nocr"]').innerText()).toMatch(
        new RegExp(
          `سازمان ثبت احوال کشور[\\s\\S]*${persian(facts.nocrOnline)} از ${persian(facts.nocrTotal)}[\\s\\S]*${persian(facts.nocrPercent)}٪[\\s\\S]*۵۰ تا ۹۰٪`,
        ),
      );
      // No Latin digit in what a Persian reader sees, except the inquiry type ids (kept as written).
      const visible = await page.evaluate<string>(
        `(() => { const clone = document.body.cloneNode(true); for (const id of clone.querySelectorAll(".id, .code, noscript")) id.remove(); return clone.innerText; })()`,
      );
      expect(visible).not.toMatch(/[0-9]/);
      // The date is the Jalali calendar's, as Intl writes it in Persian for Tehran.
      const generatedAt = await page.evaluate<string>("document.body.dataset.generatedAt");
      const jalali = new Intl.DateTimeFormat("fa-IR-u-ca-persian", {
        dateStyle: "long",
        timeStyle: "medium",
        timeZone: "Asia/Tehran",
      }).format(new Date(generatedAt));
      expect(jalali).toMatch(/۱۴[۰-۹]{2}/);
      expect(await page.locator("#meta").innerText()).toContain(jalali);
      await page.screenshot({ path: join(SHOTS, "fa-laptop.png"), fullPage: true });
    } finally {
      await page.close();
    }
  });

  it("fits a phone's width: the tables scroll inside their box, not the page", async () => {
    for (const lang of ["fa", "en"] as const) {
      const page = await open(lang, { width: 390, height: 844 });
      try {
        const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - document.documentElement.clientWidth");
        expect(overflow).toBeLessThanOrEqual(0);
        expect(await row(page, POST).locator(".badge").isVisible()).toBe(true);
        await page.screenshot({ path: join(SHOTS, `${lang}-phone.png`), fullPage: true });
      } finally {
        await page.close();
      }
    }
  });

  it("turns an inquiry offline by itself when an outage is injected into its agency, then leaves offline when it answers again", async () => {
    const page = await open("fa");
    try {
      const fault = await fetch(`${gw.agencies.url}/_control/faults`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ agency: "post", mode: "down" }),
      });
      expect(fault.status).toBe(200);
      await askPost(10);
      // No reload: the page refreshes itself.
      await expect.poll(() => row(page, POST).getAttribute("data-status"), { timeout: 15_000, interval: 250 }).toBe("offline");
      expect(await row(page, POST).locator(".badge").innerText()).toBe("قطع");
      // Breaker open, or (once it half-opens) most inquiries of the last two minutes failed: said in Persian.
      expect(await row(page, POST).locator(".why").innerText()).toMatch(/^(قطع‌کن باز است|هر [۰-۹]+ استعلام دو دقیقهٔ اخیر ناموفق)$/);
      expect(await page.locator('tr[data-agency="post"]').getAttribute("data-bucket")).toBe("none");
      await page.screenshot({ path: join(SHOTS, "fa-outage.png"), fullPage: true });

      await fetch(`${gw.agencies.url}/_control/faults`, { method: "DELETE" });
      await new Promise((r) => setTimeout(r, 8200));
      await askPost(3);
      // Answering again; the window still holds the outage's failures, so it shows degraded, not offline.
      await expect.poll(() => row(page, POST).getAttribute("data-status"), { timeout: 15_000, interval: 250 }).toBe("degraded");
      expect(await row(page, POST).locator(".badge").innerText()).toBe("دارای افت کیفیت");
      await page.screenshot({ path: join(SHOTS, "fa-recovering.png"), fullPage: true });
    } finally {
      await page.close();
    }
  });
});
