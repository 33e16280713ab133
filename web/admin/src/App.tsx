import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, type ReactNode } from "react";
import { can, ROLE_NAMES, whoMay, type Capability } from "./permissions";
import { match, useRoute } from "./router";
import { signOut } from "./session";
import { useSession } from "./useSession";
import { SignIn } from "./pages/SignIn";
import { Overview } from "./pages/Overview";
import { MemberSearch } from "./pages/MemberSearch";
import { MemberPage } from "./pages/Member";
import { Charges } from "./pages/Charges";
import { ChargePage } from "./pages/Charge";
import { DeadJobs } from "./pages/DeadJobs";
import { Clients } from "./pages/Clients";
import { Staff } from "./pages/Staff";
import { Rewards } from "./pages/Rewards";
import { RedemptionPage } from "./pages/Redemption";
import { Campaigns } from "./pages/Campaigns";
import { CampaignPage } from "./pages/Campaign";
import { EnrolmentPage } from "./pages/Enrolment";

interface NavItem {
  path: string;
  label: string;
  capability: Capability;
}

const NAV: NavItem[] = [
  { path: "/", label: "Overview", capability: "read" },
  { path: "/members", label: "Members", capability: "read" },
  { path: "/payments", label: "Payments", capability: "read" },
  { path: "/payments/dead-jobs", label: "Dead jobs", capability: "read" },
  { path: "/clients", label: "Partner clients", capability: "manageClients" },
  { path: "/staff", label: "Staff", capability: "createStaff" },
  { path: "/rewards", label: "Rewards", capability: "read" },
  { path: "/campaigns", label: "Campaigns", capability: "read" },
];

interface Page {
  title: string;
  element: ReactNode;
  nav: string;
  /** Who may open the page (the API refuses the others anyway). */
  capability?: Capability;
}

function page(path: string): Page {
  let m: Record<string, string> | null;
  if (path === "/") return { title: "Overview", element: <Overview />, nav: "/" };
  if (path === "/members") return { title: "Members", element: <MemberSearch />, nav: "/members" };
  if ((m = match("/members/:id", path)))
    return { title: "Member", element: <MemberPage id={m.id!} />, nav: "/members" };
  if (path === "/payments") return { title: "Payments", element: <Charges />, nav: "/payments" };
  if (path === "/payments/dead-jobs")
    return { title: "Dead jobs", element: <DeadJobs />, nav: "/payments/dead-jobs" };
  if ((m = match("/payments/charges/:id", path)))
    return { title: "Charge", element: <ChargePage id={m.id!} />, nav: "/payments" };
  if (path === "/clients")
    return { title: "Partner clients", element: <Clients />, nav: "/clients", capability: "manageClients" };
  if (path === "/staff") return { title: "Staff", element: <Staff />, nav: "/staff", capability: "createStaff" };
  if (path === "/rewards") return { title: "Rewards", element: <Rewards />, nav: "/rewards" };
  if ((m = match("/rewards/redemptions/:id", path)))
    return { title: "Redemption", element: <RedemptionPage id={m.id!} />, nav: "/rewards" };
  if (path === "/campaigns") return { title: "Campaigns", element: <Campaigns />, nav: "/campaigns" };
  if ((m = match("/campaigns/:id", path)))
    return { title: "Campaign", element: <CampaignPage id={m.id!} />, nav: "/campaigns" };
  if ((m = match("/campaigns/:id/enrolments/:enrolment", path)))
    return {
      title: "Enrolment",
      element: <EnrolmentPage campaignId={m.id!} enrolmentId={m.enrolment!} />,
      nav: "/campaigns",
    };
  return {
    title: "Not found",
    element: (
      <>
        <h1 tabIndex={-1}>Page not found</h1>
        <p>
          <a href="#/">Back to the overview</a>
        </p>
      </>
    ),
    nav: "",
  };
}

export function App() {
  const session = useSession();
  const { path } = useRoute();
  const queryClient = useQueryClient();
  const mainRef = useRef<HTMLElement>(null);
  const current = session ? page(path) : null;

  useEffect(() => {
    document.title = current ? `${current.title} · Tessera back office` : "Sign in · Tessera back office";
  }, [current?.title]);

  // Moves focus to the new page's heading, as a page load would.
  useEffect(() => {
    mainRef.current?.querySelector<HTMLElement>("h1")?.focus({ preventScroll: false });
  }, [path]);

  // A different user must never see the previous one's cached answers.
  useEffect(() => {
    if (!session) queryClient.clear();
  }, [session?.claims.sub, queryClient]);

  if (!session || !current) {
    return <SignIn />;
  }

  const claims = session.claims;
  const role = claims.role ?? "customer";
  const allowed = can(claims, "read");
  const items = NAV.filter((item) => can(claims, item.capability));

  return (
    <div className="layout">
      <a className="skip" href="#main" onClick={(e) => {
        e.preventDefault();
        mainRef.current?.querySelector<HTMLElement>("h1")?.focus();
      }}>
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">Tessera back office</span>
        <span className="who" aria-label="Signed in as">
          {session.user.first_name} {session.user.last_name} · {session.user.email} ·{" "}
          <strong>{ROLE_NAMES[role]}</strong>
        </span>
        <button type="button" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <nav aria-label="Back office" className="sidebar">
        <ul>
          {items.map((item) => (
            <li key={item.path}>
              <a href={`#${item.path}`} aria-current={current.nav === item.path ? "page" : undefined}>
                {item.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" ref={mainRef} className="content">
        {allowed && (!current.capability || can(claims, current.capability)) ? (
          current.element
        ) : allowed ? (
          <>
            <h1 tabIndex={-1}>{current.title}</h1>
            <p role="alert" className="notice notice-error">
              Only {whoMay(current.capability!)} can open this page.
            </p>
          </>
        ) : (
          <>
            <h1 tabIndex={-1}>No back-office access</h1>
            <p>
              Your role ({ROLE_NAMES[role]}) works at the counter of its stores. The back office is for
              a business's support staff, admins and owners.
            </p>
          </>
        )}
      </main>
    </div>
  );
}
