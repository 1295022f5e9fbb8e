//! How access is handed out: the business roles that bundle entitlements, and
//! the grants that real companies give person by person instead.

use super::RoleSpec;

/// Everybody gets this at hire: identity, HR self-service and the wiki.
pub(crate) const BASE_ROLE: &str = "EMPLOYEE";

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
