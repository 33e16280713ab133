// What the signed-in role may do, as the services decide it (each service checks the token
// again on every request; this only decides which controls are offered).
import type { AccessClaims, Role } from "@tessera/client";

/** The demo business: where staff without a business (platform operators) act by default. */
export const DEMO_BUSINESS_ID = "00000000-0000-7000-8000-000000000001";

const ADMINS: readonly Role[] = ["admin", "owner", "super_admin"];
const STAFF: readonly Role[] = ["support", ...ADMINS];

export type Capability =
  /** Overview, members, payments, rewards and campaigns: read. */
  | "read"
  /** Point adjustments: support staff and above (the point service's rule). */
  | "adjustPoints"
  | "overrideTier"
  | "eraseMember"
  /** Refunds and dead-letter retries: staff who may move money. */
  | "moveMoney"
  | "manageClients"
  | "createStaff"
  /** Erasing a staff account takes a platform operator. */
  | "eraseStaff"
  | "manageCatalog"
  | "cancelRedemption"
  | "manageCampaigns";

const RULES: Record<Capability, readonly Role[]> = {
  read: STAFF,
  adjustPoints: STAFF,
  overrideTier: ADMINS,
  eraseMember: ADMINS,
  moveMoney: ADMINS,
  manageClients: ADMINS,
  createStaff: ADMINS,
  eraseStaff: ["super_admin"],
  manageCatalog: ADMINS,
  cancelRedemption: ADMINS,
  manageCampaigns: ADMINS,
};

export function can(claims: AccessClaims | undefined | null, capability: Capability): boolean {
  const role = claims?.role;
  return !!role && RULES[capability].includes(role);
}

/** Who holds a capability, for the note beside a control the signed-in role may not use. */
export function whoMay(capability: Capability): string {
  switch (capability) {
    case "eraseStaff":
      return "platform operators";
    case "adjustPoints":
    case "read":
      return "support staff, admins and owners";
    default:
      return "admins and owners";
  }
}

/** The roles the signed-in role may give a new staff account (the user service's rule). */
export function creatableRoles(claims: AccessClaims | undefined | null): Role[] {
  switch (claims?.role) {
    case "super_admin":
      return ["owner", "admin", "support", "store_manager", "cashier", "super_admin"];
    case "owner":
      return ["owner", "admin", "support", "store_manager", "cashier"];
    case "admin":
      return ["support", "store_manager", "cashier"];
    default:
      return [];
  }
}

/** The business the signed-in user acts in. */
export function businessOf(claims: AccessClaims | undefined | null): string {
  return claims?.biz ?? DEMO_BUSINESS_ID;
}

export const ROLE_NAMES: Record<Role, string> = {
  customer: "Member",
  support: "Support",
  admin: "Admin",
  owner: "Owner",
  super_admin: "Platform operator",
  store_manager: "Store manager",
  cashier: "Cashier",
};
