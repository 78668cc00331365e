// capgate/testing: fast-check arbitraries that generate only states and calls the kernel can
// be in, for property tests of capability logic. The generators live in src/fuzz/ (the
// differential campaign of `capgate verify --fuzz` uses them too); this is their public entry.
export * from "../fuzz/arbitraries.js";
