// The simulated agencies: who they are, which face they show (REST/JSON, SOAP 1.1 or 1.2, gRPC) and the
// demo credentials a connector must present. Each is an outside party with its own habits; README.md
// describes every face in full.

export const AGENCIES = [
  "nocr",
  "post",
  "cbi",
  "sayad",
  "cra",
  "rahvar",
  "nezam",
  "passport",
  "ssaa",
  "sso",
  "welfare",
  "centinsur",
] as const;
export type AgencyName = (typeof AGENCIES)[number];

/** How an agency is reached: JSON over HTTP, SOAP 1.1 or 1.2 over HTTP, or gRPC. */
export type Face = "rest" | "soap11" | "soap12" | "grpc";

export interface AgencyInfo {
  readonly id: AgencyName;
  readonly nameFa: string;
  readonly nameEn: string;
  readonly face: Face;
  /** What the agency checks before answering, in words (see README.md for the exact form). */
  readonly auth: string;
  /** The demo inquiry types it answers (catalogue ids). */
  readonly inquiries: readonly string[];
}

export const AGENCY_INFO: Readonly<Record<AgencyName, AgencyInfo>> = {
  nocr: {
    id: "nocr",
    nameFa: "سازمان ثبت احوال کشور",
    nameEn: "National Organization for Civil Registration",
    face: "rest",
    auth: "none",
    inquiries: ["nocr.identity-match.v1", "nocr.alive-status.v1"],
  },
  post: {
    id: "post",
    nameFa: "شرکت ملی پست",
    nameEn: "Iran Post",
    face: "rest",
    auth: "none",
    inquiries: ["post.address-by-postcode.v1"],
  },
  cbi: {
    id: "cbi",
    nameFa: "بانک مرکزی جمهوری اسلامی ایران",
    nameEn: "Central Bank of Iran",
    face: "rest",
    auth: "none",
    inquiries: ["cbi.iban-owner.v1", "cbi.iban-national-code-match.v1", "cbi.shahab-id.v1"],
  },
  sayad: {
    id: "sayad",
    nameFa: "سامانه صیاد بانک مرکزی",
    nameEn: "Central Bank of Iran, Sayad cheque system",
    face: "rest",
    auth: "bearer token",
    inquiries: ["cbi.sayad-cheque-status.v1", "cbi.cheque-credit-status.v1"],
  },
  cra: {
    id: "cra",
    nameFa: "سازمان تنظیم مقررات و ارتباطات رادیویی (شاهکار)",
    nameEn: "Communications Regulatory Authority (Shahkar)",
    face: "rest",
    auth: "API key header X-API-Key",
    inquiries: ["cra.shahkar-mobile-match.v1"],
  },
  rahvar: {
    id: "rahvar",
    nameFa: "پلیس راهور فراجا",
    nameEn: "Traffic Police",
    face: "rest",
    auth: "HTTP basic",
    inquiries: ["rahvar.traffic-fines.v1", "rahvar.driving-licence-status.v1", "rahvar.vehicle-ownership.v1"],
  },
  nezam: {
    id: "nezam",
    nameFa: "سازمان وظیفه عمومی فراجا",
    nameEn: "General Conscription Organization",
    face: "rest",
    auth: "bearer token",
    inquiries: ["nezam.military-service-status.v1"],
  },
  passport: {
    id: "passport",
    nameFa: "پلیس مهاجرت و گذرنامه فراجا",
    nameEn: "Passport Police",
    face: "rest",
    auth: "API key header Api-Key",
    inquiries: ["passport.passport-status.v1"],
  },
  ssaa: {
    id: "ssaa",
    nameFa: "سازمان ثبت اسناد و املاک کشور",
    nameEn: "Deeds and Real Estate Registration Organization",
    face: "soap12",
    auth: "WS-Security UsernameToken (PasswordText or PasswordDigest)",
    inquiries: ["ssaa.company-by-national-id.v1"],
  },
  sso: {
    id: "sso",
    nameFa: "سازمان تأمین اجتماعی",
    nameEn: "Social Security Organization",
    face: "soap11",
    auth: "WS-Security UsernameToken (PasswordText or PasswordDigest)",
    inquiries: ["sso.insurance-history.v1", "sso.insurance-status.v1"],
  },
  welfare: {
    id: "welfare",
    nameFa: "وزارت تعاون، کار و رفاه اجتماعی (پایگاه رفاه ایرانیان)",
    nameEn: "Ministry of Cooperatives, Labour and Social Welfare",
    face: "grpc",
    auth: "metadata authorization: Bearer <token>",
    inquiries: ["welfare.subsidy-decile.v1"],
  },
  centinsur: {
    id: "centinsur",
    nameFa: "بیمه مرکزی جمهوری اسلامی ایران (سنهاب)",
    nameEn: "Central Insurance of Iran",
    face: "grpc",
    auth: "metadata x-api-key",
    inquiries: ["centinsur.third-party-insurance.v1"],
  },
};

export function isAgencyName(value: unknown): value is AgencyName {
  return typeof value === "string" && (AGENCIES as readonly string[]).includes(value);
}

/**
 * The demo credentials each agency expects. They are demo values, published in README.md like the
 * gateway's demo API keys: the simulators check them so that a connector that forgets them is caught.
 */
export const DEMO_CREDENTIALS = {
  sayad: { bearerToken: "sayad-demo-token-8c2f6a1e93b0" },
  cra: { header: "X-API-Key", apiKey: "cra-shahkar-demo-4e7b19d2" },
  rahvar: { username: "estelam", password: "rahvar-demo-5d31c7" },
  nezam: { bearerToken: "nezam-demo-token-27c9e4f1" },
  passport: { header: "Api-Key", apiKey: "passport-demo-key-61ad0b" },
  ssaa: { username: "estelam", password: "ssaa-demo-pass-6b2d" },
  sso: { username: "estelam", password: "sso-demo-pass-91fa" },
  welfare: { bearerToken: "welfare-demo-token-3a7e58" },
  centinsur: { header: "x-api-key", apiKey: "centinsur-demo-key-b84c2d" },
} as const;
