//! The shape of the demo company as plain data (executives, departments, titles
//! and the roles each title brings), apart from the code that staffs it.

/// A title and the roles that come with it.
#[derive(Clone, Copy)]
pub(crate) struct Job {
    pub title: &'static str,
    pub roles: &'static [&'static str],
}

const fn job(title: &'static str, roles: &'static [&'static str]) -> Job {
    Job { title, roles }
}

pub(super) struct DeptSpec {
    pub(super) name: &'static str,
    pub(super) weight: u32,
    /// Title of the executive or department head this department reports to.
    pub(super) reports_to: &'static str,
    pub(super) head: Job,
    pub(super) manager: Job,
    pub(super) ics: &'static [(Job, u32)],
    pub(super) sensitive: bool,
}

pub(crate) const CEO: &str = "Chief Executive Officer";
pub(crate) const SECURITY_HEAD: &str = "Director of Security Operations";

pub(super) const EXECS: &[Job] = &[
    job(CEO, &[]),
    job("Chief Financial Officer", &["FINANCE_VIEWER"]),
    job("Chief Technology Officer", &["ENG_MANAGER"]),
    job("Chief Information Officer", &[]),
    job("Chief Information Security Officer", &["SECURITY_ANALYST"]),
    job("Chief People Officer", &["HR_PARTNER"]),
    job("Chief Revenue Officer", &["SALES_REP"]),
    job("General Counsel", &[]),
];

pub(super) const DEPARTMENTS: &[DeptSpec] = &[
    DeptSpec {
        name: "General Accounting",
        weight: 4,
        reports_to: "Chief Financial Officer",
        head: job("Corporate Controller", &["CONTROLLER"]),
        manager: job("Accounting Manager", &["CONTROLLER"]),
        ics: &[
            (job("Senior Accountant", &["GL_ACCOUNTANT"]), 3),
            (job("Staff Accountant", &["GL_ACCOUNTANT"]), 4),
            (job("Financial Analyst", &["FINANCE_VIEWER"]), 2),
            (job("GL Accountant", &["GL_ACCOUNTANT"]), 2),
        ],
        sensitive: true,
    },
    DeptSpec {
        name: "Accounts Payable",
        weight: 4,
        reports_to: "Corporate Controller",
        head: job("Accounts Payable Manager", &["AP_MANAGER"]),
        manager: job("AP Supervisor", &["AP_MANAGER"]),
        ics: &[
            (job("Accounts Payable Clerk", &["AP_CLERK"]), 3),
            (job("Accounts Payable Specialist", &["AP_CLERK"]), 2),
        ],
        sensitive: true,
    },
    DeptSpec {
        name: "Accounts Receivable",
        weight: 3,
        reports_to: "Corporate Controller",
        head: job("Accounts Receivable Manager", &["AR_MANAGER"]),
        manager: job("Billing Supervisor", &["AR_MANAGER"]),
        ics: &[
            (job("Billing Specialist", &["AR_SPECIALIST"]), 3),
            (job("Collections Analyst", &["AR_SPECIALIST"]), 2),
            (
                job("Revenue Accountant", &["AR_SPECIALIST", "FINANCE_VIEWER"]),
                1,
            ),
        ],
        sensitive: true,
    },
    DeptSpec {
        name: "Treasury",
        weight: 2,
        reports_to: "Chief Financial Officer",
        head: job("Treasurer", &["TREASURY_MANAGER"]),
        manager: job("Treasury Manager", &["TREASURY_MANAGER"]),
        ics: &[
            (job("Treasury Analyst", &["TREASURY_ANALYST"]), 3),
            (job("Cash Management Analyst", &["TREASURY_ANALYST"]), 1),
        ],
        sensitive: true,
    },
    DeptSpec {
        name: "Procurement",
        weight: 3,
        reports_to: "Chief Financial Officer",
        head: job("Director of Procurement", &["PROCUREMENT_MANAGER"]),
        manager: job("Purchasing Manager", &["PROCUREMENT_MANAGER"]),
        ics: &[
            (job("Buyer", &["PROCUREMENT_BUYER"]), 3),
            (job("Vendor Master Data Specialist", &["VENDOR_MASTER"]), 1),
            (job("Procurement Specialist", &["PROCUREMENT_BUYER"]), 2),
        ],
        sensitive: true,
    },
    DeptSpec {
        name: "Internal Audit",
        weight: 1,
        reports_to: "Chief Financial Officer",
        head: job("Director of Internal Audit", &["AUDITOR"]),
        manager: job("Audit Manager", &["AUDITOR"]),
        ics: &[(job("Internal Auditor", &["AUDITOR"]), 1)],
        sensitive: false,
    },
    DeptSpec {
        name: "Human Resources",
        weight: 4,
        reports_to: "Chief People Officer",
        head: job("HR Director", &["HR_ADMIN"]),
        manager: job("HR Manager", &["HR_PARTNER"]),
        ics: &[
            (job("HR Business Partner", &["HR_PARTNER"]), 2),
            (job("Recruiter", &[]), 3),
            (job("HR Generalist", &["HR_PARTNER"]), 2),
            (job("HRIS Analyst", &["HR_ADMIN"]), 1),
        ],
        sensitive: false,
    },
    DeptSpec {
        name: "Payroll",
        weight: 2,
        reports_to: "Chief People Officer",
        head: job("Payroll Manager", &["PAYROLL_MANAGER"]),
        manager: job("Payroll Supervisor", &["PAYROLL_MANAGER"]),
        ics: &[
            (job("Payroll Specialist", &["PAYROLL_ADMIN"]), 3),
            (job("Payroll Analyst", &["PAYROLL_ADMIN"]), 1),
        ],
        sensitive: true,
    },
    DeptSpec {
        name: "Sales",
        weight: 22,
        reports_to: "Chief Revenue Officer",
        head: job("VP Sales", &["SALES_REP"]),
        manager: job("Sales Manager", &["SALES_REP"]),
        ics: &[
            (job("Account Executive", &["SALES_REP"]), 5),
            (job("Sales Development Representative", &[]), 4),
            (job("Solutions Engineer", &["SALES_REP"]), 2),
            (job("Sales Operations Analyst", &["SALES_OPS"]), 1),
        ],
        sensitive: false,
    },
    DeptSpec {
        name: "Customer Success",
        weight: 7,
        reports_to: "Chief Revenue Officer",
        head: job("VP Customer Success", &["SALES_REP"]),
        manager: job("Support Manager", &["SALES_REP"]),
        ics: &[
            (job("Customer Success Manager", &["SALES_REP"]), 3),
            (job("Support Engineer", &["SALES_REP"]), 4),
        ],
        sensitive: false,
    },
    DeptSpec {
        name: "Marketing",
        weight: 6,
        reports_to: CEO,
        head: job("VP Marketing", &[]),
        manager: job("Marketing Manager", &[]),
        ics: &[
            (job("Marketing Specialist", &[]), 3),
            (job("Product Marketing Manager", &[]), 2),
            (job("Content Strategist", &[]), 2),
            (job("Demand Generation Manager", &[]), 1),
        ],
        sensitive: false,
    },
    DeptSpec {
        name: "Engineering",
        weight: 26,
        reports_to: "Chief Technology Officer",
        head: job("VP Engineering", &["ENG_MANAGER"]),
        manager: job("Engineering Manager", &["ENG_MANAGER"]),
        ics: &[
            (job("Software Engineer", &["DEVELOPER"]), 6),
            (job("Site Reliability Engineer", &["SRE"]), 2),
            (job("Senior Software Engineer", &["DEVELOPER"]), 5),
            (job("QA Engineer", &["DEVELOPER"]), 2),
            (job("Staff Engineer", &["DEVELOPER"]), 1),
            (job("Product Manager", &[]), 2),
        ],
        sensitive: true,
    },
    DeptSpec {
        name: "IT Operations",
        weight: 5,
        reports_to: "Chief Information Officer",
        head: job("Director of IT Operations", &["IT_ADMIN"]),
        manager: job("IT Manager", &["IT_ADMIN"]),
        ics: &[
            (job("Systems Administrator", &["IT_ADMIN"]), 3),
            (job("IT Support Specialist", &["HELPDESK"]), 4),
            (job("Database Administrator", &["DBA"]), 1),
            (job("Network Engineer", &["IT_ADMIN"]), 1),
        ],
        sensitive: true,
    },
    DeptSpec {
        name: "Security",
        weight: 3,
        reports_to: "Chief Information Security Officer",
        head: job(SECURITY_HEAD, &["IAM_ADMIN", "SECURITY_ANALYST"]),
        manager: job("Security Manager", &["SECURITY_ANALYST"]),
        ics: &[
            (job("IAM Engineer", &["IAM_ADMIN"]), 2),
            (job("Security Engineer", &["SECURITY_ANALYST"]), 3),
            (job("Security Analyst", &["SECURITY_ANALYST"]), 2),
            (job("GRC Analyst", &["SECURITY_ANALYST"]), 1),
        ],
        sensitive: true,
    },
    DeptSpec {
        name: "Legal",
        weight: 2,
        reports_to: "General Counsel",
        head: job("Deputy General Counsel", &[]),
        manager: job("Legal Operations Manager", &[]),
        ics: &[
            (job("Corporate Counsel", &[]), 2),
            (job("Paralegal", &[]), 2),
            (job("Contracts Manager", &["FINANCE_VIEWER"]), 1),
        ],
        sensitive: false,
    },
];
