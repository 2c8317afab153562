import type { NachaOrigin } from "./nacha-file.js";

/** The originator the NACHA tests write files for. */
export const testOrigin: NachaOrigin = {
  immediateDestination: "091000019",
  immediateDestinationName: "Wells Fargo",
  immediateOrigin: "1234567890",
  immediateOriginName: "Giftstream Inc",
  companyName: "Giftstream",
  companyId: "1234567890",
  odfiRouting: "09100001",
  entryDescription: "PAYOUT",
};
