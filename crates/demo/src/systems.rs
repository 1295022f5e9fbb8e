//! The application landscape: systems, their entitlements and the business
//! roles that bundle them. Pure data, so reviewers can judge realism at a glance.
//!
//! Roles are designed to be conflict-free on their own: every segregation of
//! duties conflict in the demo is one that `plant.rs` put there and counted.

/// How a system spells a person's account id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LoginStyle {
    /// `jsmith`, on-premise and database logins.
    Short,
    /// `JSMITH`, bank portals still shout.
    Upper,
    /// `jane.smith@example.com`, SaaS behind single sign-on.
    Email,
    /// `jsmith-exco`, personal GitHub handles joined to the company org.
    Handle,
}

pub(crate) struct EntSpec {
    pub id: &'static str,
    pub name: &'static str,
    pub privileged: bool,
    pub description: &'static str,
}

pub(crate) struct SystemSpec {
    pub id: &'static str,
    pub name: &'static str,
    pub kind: &'static str,
    /// Title of the system owner (a unique head or executive title).
    pub owner: &'static str,
    pub sox_in_scope: bool,
    pub login: LoginStyle,
    /// Postgres keeps no last-login by default; exporting an empty (unknown)
    /// value is more honest than inventing one.
    pub records_logins: bool,
    /// How many days an active user typically goes between logins.
    pub login_gap_days: i64,
    pub entitlements: &'static [EntSpec],
}

pub(crate) struct RoleSpec {
    pub id: &'static str,
    pub name: &'static str,
    pub owner: &'static str,
    pub grants: &'static [(&'static str, &'static str)],
}

const fn ent(
    id: &'static str,
    name: &'static str,
    privileged: bool,
    description: &'static str,
) -> EntSpec {
    EntSpec {
        id,
        name,
        privileged,
        description,
    }
}

/// Everybody gets this at hire: identity, HR self-service and the wiki.
pub(crate) const BASE_ROLE: &str = "EMPLOYEE";

pub(crate) const SYSTEMS: &[SystemSpec] = &[
    SystemSpec {
        id: "aws",
        name: "AWS Production Account",
        kind: "cloud",
        owner: "Chief Information Officer",
        sox_in_scope: true,
        login: LoginStyle::Email,
        records_logins: true,
        login_gap_days: 10,
        entitlements: &[
            ent(
                "AdministratorAccess",
                "Administrator Access",
                true,
                "Full control of every AWS service and resource",
            ),
            ent(
                "BillingFullAccess",
                "Billing Full Access",
                true,
                "Manage billing, payment methods and cost reports",
            ),
            ent(
                "IAMFullAccess",
                "IAM Full Access",
                true,
                "Create users, roles and policies; can escalate privileges",
            ),
            ent(
                "PowerUserAccess",
                "Power User Access",
                true,
                "Full access to services except IAM and organisation management",
            ),
            ent(
                "ReadOnlyAccess",
                "Read Only Access",
                false,
                "View resources and configuration across the account",
            ),
        ],
    },
    SystemSpec {
        id: "bank",
        name: "Commercial Banking Portal",
        kind: "banking",
        owner: "Treasurer",
        sox_in_scope: true,
        login: LoginStyle::Upper,
        records_logins: true,
        login_gap_days: 7,
        entitlements: &[
            ent(
                "ADMIN",
                "Portal Administrator",
                true,
                "Manage portal users, limits and approval workflows",
            ),
            ent(
                "BENEFICIARY_ADD",
                "Add Beneficiary",
                false,
                "Add or change payee bank details",
            ),
            ent(
                "PAYMENT_INITIATE",
                "Initiate Payment",
                false,
                "Create wire and ACH payments for release",
            ),
            ent(
                "PAYMENT_RELEASE",
                "Release Payment",
                true,
                "Release initiated payments to the bank; moves money",
            ),
            ent(
                "VIEW",
                "View Accounts",
                false,
                "View balances and statements",
            ),
        ],
    },
    SystemSpec {
        id: "billing",
        name: "Billing & Order-to-Cash",
        kind: "billing",
        owner: "Accounts Receivable Manager",
        sox_in_scope: true,
        login: LoginStyle::Email,
        records_logins: true,
        login_gap_days: 7,
        entitlements: &[
            ent(
                "admin",
                "Billing Administrator",
                true,
                "Configure billing, tax rules and user access",
            ),
            ent(
                "cash.apply",
                "Apply Cash",
                false,
                "Match incoming receipts to open invoices",
            ),
            ent(
                "credit_memo.approve",
                "Approve Credit Memos",
                false,
                "Approve credits and write-offs against customer balances",
            ),
            ent(
                "customer.edit",
                "Edit Customers",
                false,
                "Create and change customer master data and terms",
            ),
            ent(
                "invoice.create",
                "Create Invoices",
                false,
                "Create and send customer invoices",
            ),
            ent(
                "view",
                "View",
                false,
                "Read-only access to customers, invoices and payments",
            ),
        ],
    },
    SystemSpec {
        id: "cicd",
        name: "CI/CD Pipelines",
        kind: "ci_cd",
        owner: "VP Engineering",
        sox_in_scope: true,
        login: LoginStyle::Email,
        records_logins: true,
        login_gap_days: 5,
        entitlements: &[
            ent(
                "deploy-prod",
                "Deploy to Production",
                true,
                "Run deployment jobs against the production environment",
            ),
            ent(
                "deploy-staging",
                "Deploy to Staging",
                false,
                "Run deployment jobs against staging",
            ),
            ent(
                "pipeline-admin",
                "Pipeline Administrator",
                true,
                "Edit pipeline definitions, secrets and approval gates",
            ),
            ent("view", "View", false, "View pipelines, builds and logs"),
        ],
    },
    SystemSpec {
        id: "erp",
        name: "SAP S/4HANA ERP",
        kind: "erp",
        owner: "Corporate Controller",
        sox_in_scope: true,
        login: LoginStyle::Short,
        records_logins: true,
        login_gap_days: 5,
        entitlements: &[
            ent(
                "DISPLAY",
                "Display Only",
                false,
                "Display financial documents and master data",
            ),
            ent(
                "GL_JOURNAL_APPROVE",
                "Approve Journal Entries",
                false,
                "Approve parked manual journal entries",
            ),
            ent(
                "GL_POST",
                "Post Journal Entries",
                false,
                "Create and post general ledger journal entries",
            ),
            ent(
                "INVOICE_POST",
                "Post Vendor Invoices",
                false,
                "Enter and post accounts payable invoices",
            ),
            ent(
                "PAYMENT_APPROVE",
                "Approve Payment Proposals",
                false,
                "Approve the payment proposal before the run",
            ),
            ent(
                "PAYMENT_RUN",
                "Execute Payment Run",
                false,
                "Execute the automatic payment program (F110)",
            ),
            ent(
                "PERIOD_CLOSE",
                "Open/Close Posting Periods",
                false,
                "Open and close fiscal posting periods",
            ),
            ent(
                "PO_APPROVE",
                "Approve Purchase Orders",
                false,
                "Release purchase orders above threshold",
            ),
            ent(
                "PO_CREATE",
                "Create Purchase Orders",
                false,
                "Create and change purchase orders",
            ),
            ent(
                "SAP_ALL",
                "SAP_ALL Profile",
                true,
                "Unrestricted access to every transaction",
            ),
            ent(
                "USER_ADMIN",
                "User Administration",
                true,
                "Create users and assign roles (SU01/PFCG)",
            ),
            ent(
                "VENDOR_CHANGE",
                "Change Vendor Master",
                false,
                "Change vendor master data including bank details",
            ),
            ent(
                "VENDOR_CREATE",
                "Create Vendor Master",
                false,
                "Create new vendors",
            ),
        ],
    },
    SystemSpec {
        id: "github",
        name: "GitHub Enterprise",
        kind: "source_control",
        owner: "VP Engineering",
        sox_in_scope: true,
        login: LoginStyle::Handle,
        records_logins: true,
        login_gap_days: 3,
        entitlements: &[
            ent(
                "finance-app:admin",
                "finance-app Admin",
                true,
                "Administer the finance-app repository, including branch protection",
            ),
            ent(
                "finance-app:maintain",
                "finance-app Maintain",
                false,
                "Manage the finance-app repository without admin settings",
            ),
            ent(
                "finance-app:push",
                "finance-app Push",
                false,
                "Push commits to the finance-app repository",
            ),
            ent(
                "finance-app:read",
                "finance-app Read",
                false,
                "Clone and read the finance-app repository",
            ),
            ent(
                "org:owner",
                "Organization Owner",
                true,
                "Full control of the GitHub organization",
            ),
        ],
    },
    SystemSpec {
        id: "okta",
        name: "Okta Identity Provider",
        kind: "identity_provider",
        owner: crate::org::SECURITY_HEAD,
        sox_in_scope: true,
        login: LoginStyle::Email,
        records_logins: true,
        login_gap_days: 2,
        entitlements: &[
            ent(
                "app_admin",
                "Application Administrator",
                true,
                "Configure application integrations and assignments",
            ),
            ent(
                "helpdesk",
                "Help Desk Administrator",
                true,
                "Reset passwords and MFA factors for users",
            ),
            ent(
                "super_admin",
                "Super Administrator",
                true,
                "Full control of the identity provider",
            ),
            ent(
                "user",
                "Everyone",
                false,
                "Sign in to assigned applications",
            ),
        ],
    },
    SystemSpec {
        id: "payroll",
        name: "Payroll Cloud",
        kind: "payroll",
        owner: "Payroll Manager",
        sox_in_scope: true,
        login: LoginStyle::Email,
        records_logins: true,
        login_gap_days: 14,
        entitlements: &[
            ent(
                "ADMIN",
                "Payroll Administrator",
                true,
                "Configure pay groups, users and integrations",
            ),
            ent(
                "BANK_DETAILS_EDIT",
                "Edit Employee Bank Details",
                false,
                "Change where employees' net pay is sent",
            ),
            ent(
                "EMPLOYEE_EDIT",
                "Edit Employees",
                false,
                "Create employees and change pay rates",
            ),
            ent(
                "PAYRUN_APPROVE",
                "Approve Pay Run",
                false,
                "Approve and submit the pay run for funding",
            ),
            ent("VIEW", "View", false, "View payroll registers and reports"),
        ],
    },
    SystemSpec {
        id: "proddb",
        name: "Production PostgreSQL (finance)",
        kind: "database",
        owner: "Director of IT Operations",
        sox_in_scope: true,
        login: LoginStyle::Short,
        records_logins: false,
        login_gap_days: 10,
        entitlements: &[
            ent(
                "db_owner",
                "Database Owner",
                true,
                "Owns the finance schema; can alter and drop tables",
            ),
            ent(
                "read_only",
                "Read Only",
                false,
                "SELECT on the finance schema",
            ),
            ent(
                "read_write",
                "Read/Write",
                false,
                "INSERT, UPDATE and DELETE on the finance schema",
            ),
            ent(
                "superuser",
                "Superuser",
                true,
                "PostgreSQL superuser; bypasses every permission check",
            ),
        ],
    },
    SystemSpec {
        id: "wiki",
        name: "Confluence Wiki",
        kind: "collaboration",
        owner: "Director of IT Operations",
        sox_in_scope: false,
        login: LoginStyle::Email,
        records_logins: true,
        login_gap_days: 10,
        entitlements: &[
            ent("editor", "Editor", false, "Create and edit pages"),
            ent(
                "space_admin",
                "Space Administrator",
                true,
                "Administer spaces and their permissions",
            ),
        ],
    },
    SystemSpec {
        id: "workday",
        name: "Workday HCM",
        kind: "hris",
        owner: "HR Director",
        sox_in_scope: true,
        login: LoginStyle::Email,
        records_logins: true,
        login_gap_days: 30,
        entitlements: &[
            ent(
                "compensation_edit",
                "Edit Compensation",
                false,
                "Change salaries and bonus targets",
            ),
            ent(
                "employee_self_service",
                "Employee Self-Service",
                false,
                "View own payslips and update personal details",
            ),
            ent(
                "hr_admin",
                "HR Administrator",
                true,
                "Full HR data and security group administration",
            ),
            ent(
                "hr_partner",
                "HR Partner",
                false,
                "View and manage workers in supported organisations",
            ),
        ],
    },
];

pub(crate) const ROLES: &[RoleSpec] = &[
    RoleSpec {
        id: BASE_ROLE,
        name: "All Employees",
        owner: "Director of IT Operations",
        grants: &[
            ("okta", "user"),
            ("wiki", "editor"),
            ("workday", "employee_self_service"),
        ],
    },
    RoleSpec {
        id: "AP_CLERK",
        name: "Accounts Payable Clerk",
        owner: "Accounts Payable Manager",
        grants: &[("erp", "DISPLAY"), ("erp", "INVOICE_POST")],
    },
    RoleSpec {
        id: "AP_MANAGER",
        name: "Accounts Payable Manager",
        owner: "Accounts Payable Manager",
        grants: &[
            ("erp", "DISPLAY"),
            ("erp", "INVOICE_POST"),
            ("erp", "PAYMENT_RUN"),
        ],
    },
    RoleSpec {
        id: "AR_SPECIALIST",
        name: "Billing & Collections",
        owner: "Accounts Receivable Manager",
        grants: &[
            ("billing", "cash.apply"),
            ("billing", "customer.edit"),
            ("billing", "invoice.create"),
            ("billing", "view"),
        ],
    },
    RoleSpec {
        id: "AR_MANAGER",
        name: "Accounts Receivable Manager",
        owner: "Accounts Receivable Manager",
        grants: &[("billing", "credit_memo.approve"), ("billing", "view")],
    },
    RoleSpec {
        id: "GL_ACCOUNTANT",
        name: "General Ledger Accountant",
        owner: "Corporate Controller",
        grants: &[("erp", "DISPLAY"), ("erp", "GL_POST")],
    },
    RoleSpec {
        id: "CONTROLLER",
        name: "Controller / Journal Approver",
        owner: "Corporate Controller",
        grants: &[
            ("erp", "DISPLAY"),
            ("erp", "GL_JOURNAL_APPROVE"),
            ("erp", "PERIOD_CLOSE"),
        ],
    },
    RoleSpec {
        id: "FINANCE_VIEWER",
        name: "Finance Read-Only",
        owner: "Corporate Controller",
        grants: &[("billing", "view"), ("erp", "DISPLAY")],
    },
    RoleSpec {
        id: "TREASURY_ANALYST",
        name: "Treasury Analyst",
        owner: "Treasurer",
        grants: &[
            ("bank", "BENEFICIARY_ADD"),
            ("bank", "PAYMENT_INITIATE"),
            ("bank", "VIEW"),
            ("erp", "DISPLAY"),
        ],
    },
    RoleSpec {
        id: "TREASURY_MANAGER",
        name: "Treasury Approver",
        owner: "Treasurer",
        grants: &[
            ("bank", "PAYMENT_RELEASE"),
            ("bank", "VIEW"),
            ("erp", "DISPLAY"),
            ("erp", "PAYMENT_APPROVE"),
        ],
    },
    RoleSpec {
        id: "PROCUREMENT_BUYER",
        name: "Buyer",
        owner: "Director of Procurement",
        grants: &[("erp", "DISPLAY"), ("erp", "PO_CREATE")],
    },
    RoleSpec {
        id: "PROCUREMENT_MANAGER",
        name: "Purchase Order Approver",
        owner: "Director of Procurement",
        grants: &[("erp", "DISPLAY"), ("erp", "PO_APPROVE")],
    },
    RoleSpec {
        id: "VENDOR_MASTER",
        name: "Vendor Master Data Steward",
        owner: "Director of Procurement",
        grants: &[
            ("erp", "DISPLAY"),
            ("erp", "VENDOR_CHANGE"),
            ("erp", "VENDOR_CREATE"),
        ],
    },
    RoleSpec {
        id: "PAYROLL_ADMIN",
        name: "Payroll Administrator",
        owner: "Payroll Manager",
        grants: &[
            ("payroll", "BANK_DETAILS_EDIT"),
            ("payroll", "EMPLOYEE_EDIT"),
            ("payroll", "VIEW"),
        ],
    },
    RoleSpec {
        id: "PAYROLL_MANAGER",
        name: "Payroll Approver",
        owner: "Payroll Manager",
        grants: &[("payroll", "PAYRUN_APPROVE"), ("payroll", "VIEW")],
    },
    RoleSpec {
        id: "HR_PARTNER",
        name: "HR Partner",
        owner: "HR Director",
        grants: &[("workday", "hr_partner")],
    },
    RoleSpec {
        id: "HR_ADMIN",
        name: "HR Administrator",
        owner: "HR Director",
        grants: &[("workday", "compensation_edit"), ("workday", "hr_admin")],
    },
    RoleSpec {
        id: "SALES_REP",
        name: "Sales & Customer Success",
        owner: "VP Sales",
        grants: &[("billing", "view")],
    },
    RoleSpec {
        id: "SALES_OPS",
        name: "Sales Operations",
        owner: "VP Sales",
        grants: &[("billing", "customer.edit"), ("billing", "view")],
    },
    RoleSpec {
        id: "DEVELOPER",
        name: "Software Developer",
        owner: "VP Engineering",
        grants: &[
            ("aws", "ReadOnlyAccess"),
            ("cicd", "deploy-staging"),
            ("cicd", "view"),
            ("github", "finance-app:push"),
            ("proddb", "read_only"),
        ],
    },
    RoleSpec {
        id: "SRE",
        name: "Site Reliability Engineer",
        owner: "VP Engineering",
        grants: &[
            ("aws", "PowerUserAccess"),
            ("cicd", "deploy-prod"),
            ("cicd", "view"),
            ("github", "finance-app:read"),
            ("proddb", "read_write"),
        ],
    },
    RoleSpec {
        id: "ENG_MANAGER",
        name: "Engineering Manager",
        owner: "VP Engineering",
        grants: &[
            ("aws", "ReadOnlyAccess"),
            ("cicd", "view"),
            ("github", "finance-app:maintain"),
        ],
    },
    RoleSpec {
        id: "IT_ADMIN",
        name: "IT Systems Administrator",
        owner: "Director of IT Operations",
        grants: &[
            ("aws", "PowerUserAccess"),
            ("okta", "helpdesk"),
            ("wiki", "space_admin"),
        ],
    },
    RoleSpec {
        id: "HELPDESK",
        name: "IT Help Desk",
        owner: "Director of IT Operations",
        grants: &[("okta", "helpdesk")],
    },
    RoleSpec {
        id: "DBA",
        name: "Database Administrator",
        owner: "Director of IT Operations",
        grants: &[
            ("aws", "ReadOnlyAccess"),
            ("proddb", "db_owner"),
            ("proddb", "read_write"),
        ],
    },
    RoleSpec {
        id: "SECURITY_ANALYST",
        name: "Security Analyst",
        owner: crate::org::SECURITY_HEAD,
        grants: &[
            ("aws", "ReadOnlyAccess"),
            ("cicd", "view"),
            ("github", "finance-app:read"),
        ],
    },
    RoleSpec {
        id: "IAM_ADMIN",
        name: "Identity & Access Administrator",
        owner: crate::org::SECURITY_HEAD,
        grants: &[
            ("aws", "IAMFullAccess"),
            ("erp", "USER_ADMIN"),
            ("okta", "app_admin"),
        ],
    },
    RoleSpec {
        id: "AUDITOR",
        name: "Internal Audit Read-Only",
        owner: "Director of Internal Audit",
        grants: &[
            ("aws", "ReadOnlyAccess"),
            ("bank", "VIEW"),
            ("billing", "view"),
            ("erp", "DISPLAY"),
            ("payroll", "VIEW"),
        ],
    },
];

/// Privileged access that real companies hand out person by person rather
/// than through a role: (title of the first active holder, system, entitlement).
pub(crate) const DIRECT_GRANTS: &[(&str, &str, &str)] = &[
    ("Chief Financial Officer", "bank", "VIEW"),
    ("Chief Information Officer", "aws", "BillingFullAccess"),
    ("Treasurer", "bank", "ADMIN"),
    ("Payroll Manager", "payroll", "ADMIN"),
    ("Accounts Receivable Manager", "billing", "admin"),
    ("VP Engineering", "github", "org:owner"),
    ("VP Engineering", "cicd", "pipeline-admin"),
    ("Staff Engineer", "github", "finance-app:admin"),
    ("Director of IT Operations", "aws", "AdministratorAccess"),
    (crate::org::SECURITY_HEAD, "okta", "super_admin"),
    // The Basis administrator with SAP_ALL: common, and always worth a look.
    ("Systems Administrator", "erp", "SAP_ALL"),
    ("Database Administrator", "proddb", "superuser"),
];

/// Harmless read access some people pick up outside their role over the years.
pub(crate) const STRAY_VIEW_GRANTS: &[(&str, &str)] = &[
    ("aws", "ReadOnlyAccess"),
    ("billing", "view"),
    ("cicd", "view"),
    ("erp", "DISPLAY"),
    ("github", "finance-app:read"),
];

pub(crate) fn system(id: &str) -> Option<&'static SystemSpec> {
    SYSTEMS.iter().find(|s| s.id == id)
}

pub(crate) fn entitlement(system_id: &str, ent_id: &str) -> Option<&'static EntSpec> {
    system(system_id)?
        .entitlements
        .iter()
        .find(|e| e.id == ent_id)
}

pub(crate) fn role(id: &str) -> Option<&'static RoleSpec> {
    ROLES.iter().find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PLANTED_SOD_PAIRS;

    #[test]
    fn catalog_references_resolve() {
        for r in ROLES {
            for (s, e) in r.grants {
                assert!(entitlement(s, e).is_some(), "{} -> {s}/{e}", r.id);
            }
        }
        for (_, s, e) in DIRECT_GRANTS {
            assert!(entitlement(s, e).is_some(), "{s}/{e}");
        }
        for (s, e) in STRAY_VIEW_GRANTS {
            assert!(entitlement(s, e).is_some_and(|x| !x.privileged), "{s}/{e}");
        }
        for p in PLANTED_SOD_PAIRS {
            assert!(entitlement(p.left.0, p.left.1).is_some());
            assert!(entitlement(p.right.0, p.right.1).is_some());
        }
    }

    #[test]
    fn no_role_holds_both_sides_of_a_conflict() {
        for r in ROLES {
            for p in PLANTED_SOD_PAIRS {
                let has = |x: (&str, &str)| r.grants.contains(&x);
                assert!(!(has(p.left) && has(p.right)), "role {} conflicts", r.id);
            }
        }
    }

    #[test]
    fn ids_are_sorted_and_unique() {
        let ids: Vec<_> = SYSTEMS.iter().map(|s| s.id).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(ids, sorted);
        for s in SYSTEMS {
            let ents: Vec<_> = s.entitlements.iter().map(|e| e.id).collect();
            let mut sorted = ents.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(ents, sorted, "{}", s.id);
        }
    }
}
