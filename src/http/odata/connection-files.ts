/**
 * One-click connection files: an Office Data Connection (`.odc`) that opens one entity set in Excel
 * through Power Query, and a Power BI data source file (`.pbids`) that opens the team's feed in the
 * Navigator. Neither carries a credential: the tool asks for one on first use (docs/bi-tools.md).
 */
import { xmlEscape } from './metadata.js';

/** The M expression Excel runs: the set from the team's feed (OData.Feed follows nextLink itself). */
function mashupFormula(serviceUrl: string, set: string): string {
  const m = (s: string) => `"${s.replace(/"/g, '""')}"`;
  return `let\n    Source = OData.Feed(${m(serviceUrl)}, null, [Implementation="2.0"]),\n    ${set}_table = Source{[Name=${m(set)},Signature="table"]}[Data]\nin\n    ${set}_table`;
}

/** An ODC file (MS-ODCFF) with a Power Query connection to one entity set. */
export function odcFile(serviceUrl: string, set: string, description: string | undefined): string {
  const formula = mashupFormula(serviceUrl, set).replace(/]]>/g, ']]]]><![CDATA[>');
  const mashup =
    `<Mashup xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.microsoft.com/DataMashup">` +
    `<Client>EXCEL</Client><Version>2.140.405.0</Version><MinVersion>2.21.0.0</MinVersion><Culture>en-US</Culture><SafeCombine>true</SafeCombine>` +
    `<Items><Query Name="${xmlEscape(set)}"><Formula><![CDATA[${formula}]]></Formula><IsParameterQuery xsi:nil="true" /><IsDirectQuery xsi:nil="true" /></Query></Items></Mashup>`;
  const title = xmlEscape(set);
  return `<html xmlns:o="urn:schemas-microsoft-com:office:office"
xmlns="http://www.w3.org/TR/REC-html40">
<head>
<meta http-equiv=Content-Type content="text/x-ms-odc; charset=utf-8">
<meta name=ProgId content=ODC.Database>
<meta name=SourceType content=OLEDB>
<title>${title}</title>
<xml id=docprops><o:DocumentProperties
  xmlns:o="urn:schemas-microsoft-com:office:office"
  xmlns="http://www.w3.org/TR/REC-html40">
  <o:Description>${xmlEscape(description ?? `${set} from ${serviceUrl}`)}</o:Description>
  <o:Name>${title}</o:Name>
 </o:DocumentProperties>
</xml><xml id=msodc><odc:OfficeDataConnection
  xmlns:odc="urn:schemas-microsoft-com:office:odc"
  xmlns="http://www.w3.org/TR/REC-html40">
  <odc:PowerQueryConnection odc:Type="OLEDB">
   <odc:ConnectionString>Provider=Microsoft.Mashup.OleDb.1;Data Source=$Workbook$;Location=${title};Extended Properties=&quot;&quot;</odc:ConnectionString>
   <odc:CommandType>SQL</odc:CommandType>
   <odc:CommandText>SELECT * FROM [${title}]</odc:CommandText>
  </odc:PowerQueryConnection>
  <odc:PowerQueryMashupData>${xmlEscape(mashup)}</odc:PowerQueryMashupData>
 </odc:OfficeDataConnection>
</xml>
</head>
<body></body>
</html>
`;
}

/** A PBIDS file: Power BI Desktop opens it with Get Data → OData feed on the team's service root. */
export function pbidsFile(serviceUrl: string): string {
  return `${JSON.stringify({ version: '0.1', connections: [{ details: { protocol: 'odata', address: { url: serviceUrl } }, mode: 'Import' }] }, null, 2)}\n`;
}
