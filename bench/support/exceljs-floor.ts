/**
 * The export benchmark's floor: a bare exceljs streaming WorkbookWriter (no styles, no shared strings)
 * fed N rows already in memory — the rows of bench.posts as bench/exports.ts creates them, grouped at
 * the table's grain — one `addRow(values).commit()` each. Usage: tsx exceljs-floor.ts <rows> <out.xlsx>
 */
import ExcelJS from 'exceljs';

const rows = Number(process.argv[2]);
const out = process.argv[3];
const PLATFORMS = ['facebook', 'instagram', 'x'];
const DAY = 86_400_000;
const start = Date.UTC(2024, 0, 1);

// The same values as the warehouse answers: ratio, currency and duration already computed.
const data: Array<Array<string | number | Date>> = new Array(rows);
for (let i = 0; i < rows; i++) {
  const impressions = (i * 7919) % 100000;
  const engagements = (i * 31) % 5000;
  data[i] = ['p' + i, PLATFORMS[i % 3], new Date(start + (i % 700) * DAY), impressions, impressions === 0 ? 0 : engagements / impressions, engagements, (i % 5000) / 7, (i % 4000) / 86400];
}

const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: out, useStyles: false, useSharedStrings: false });
const sheet = workbook.addWorksheet('Data');
sheet.addRow(['post_id', 'platform', 'metric_date', 'impressions', 'engagement_rate', 'engagements', 'spend', 'watch_time']).commit();
for (let i = 0; i < rows; i++) sheet.addRow(data[i]).commit();
sheet.commit();
await workbook.commit();
