// The chart library as the pages load it: the server answers /assets/js/lightweightCharts.js
// with lightweight-charts' standalone ES module build (no imports of its own).
export * from "lightweight-charts";
