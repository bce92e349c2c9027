// The demo inquiries shown by `npm start` and in the README, each answered by the demo agencies (inputs from
// simulators/demo-agencies/README.md): REST, SOAP and gRPC faces among them. `estelam inquiry-types` lists
// every demo inquiry type.
export const DEMO_API_KEY = "demo-bank-key-7f3a91c2e5d84b06";
/** The demo registry's admin key (Credential nix/registry-admin), for `estelam registry`. */
export const DEMO_ADMIN_KEY = "demo-admin-key-3e7c1a9f5b2d8046";

export interface DemoExample {
  readonly title: string;
  readonly body: {
    readonly inquiry_type: string;
    readonly params: Readonly<Record<string, string>>;
    readonly purpose: string;
    readonly end_user: string;
  };
}

export const DEMO_EXAMPLES: readonly DemoExample[] = [
  {
    title: "Identity match (NOCR)",
    body: {
      inquiry_type: "nocr.identity-match.v1",
      params: { national_code: "0012345679", birth_date: "1348/01/31" },
      purpose: "kyc.account-opening",
      end_user: "branch-1021/teller-7",
    },
  },
  {
    title: "Address by postal code (Iran Post)",
    body: {
      inquiry_type: "post.address-by-postcode.v1",
      params: { postal_code: "1193653471" },
      purpose: "kyc.address-verification",
      end_user: "branch-1021/teller-7",
    },
  },
  {
    title: "IBAN owner (Central Bank)",
    body: {
      inquiry_type: "cbi.iban-owner.v1",
      params: { iban: "IR100170889862171595799372" },
      purpose: "payment.beneficiary-check",
      end_user: "branch-1021/teller-7",
    },
  },
  {
    title: "Company by legal-entity id (Deeds Registration, over SOAP 1.2)",
    body: {
      inquiry_type: "ssaa.company-by-national-id.v1",
      params: { national_id: "10380284790" },
      purpose: "kyc.corporate-account-opening",
      end_user: "branch-1021/teller-7",
    },
  },
  {
    title: "Household subsidy decile (Ministry of Welfare, over gRPC)",
    body: {
      inquiry_type: "welfare.subsidy-decile.v1",
      params: { national_code: "0012345679" },
      purpose: "loan.application",
      end_user: "branch-1021/loans-2",
    },
  },
];

/** A copy-paste `buf curl` command for an example against a gateway at `address`. */
export function bufCurlCommand(example: DemoExample, address: string): string {
  return [
    "npx buf curl --protocol grpc --http2-prior-knowledge \\",
    `  -H 'authorization: Bearer ${DEMO_API_KEY}' \\`,
    `  -d '${JSON.stringify(example.body)}' \\`,
    `  http://${address}/estelam.inquiry.v1.InquiryService/Inquire`,
  ].join("\n");
}
