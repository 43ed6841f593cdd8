export type { Buckets, ChartMarker } from "./data.js";
export {
  buildReportData,
  REPORT_DEFAULTS,
  type ReportData,
  type ReportHtmlOptions,
  type ReportInput,
  renderReportHtml,
} from "./html.js";
export { type EquityPngInput, renderEquityPng, renderEquitySvg } from "./png.js";
