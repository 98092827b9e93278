/**
 * The Excel add-in's manifest (the add-in-only XML format, which every Excel — Windows, Mac, the web —
 * sideloads), pointing at the URL the service was reached at. It requires ExcelApi 1.7, the first set
 * with `Worksheet.getRangeByIndexes` (Excel 2019 and Microsoft 365). Its Id is fixed: one Sextant add-in,
 * whichever service it talks to; a second deployment sideloaded beside it replaces it.
 */

/** The add-in's id in the manifest. */
export const EXCEL_ADDIN_ID = '6f1d4c2e-8a3b-4e57-9c1a-5e2b7d9f0a41';

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** The manifest for a service at `baseUrl` (`https://metrics.example.com`, no trailing slash). */
export function excelManifestXml(baseUrl: string): string {
  const base = escapeXml(baseUrl.replace(/\/+$/, ''));
  const icon = (size: number) => `${base}/excel/icon-${size}.png`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<OfficeApp xmlns="http://schemas.microsoft.com/office/appforoffice/1.1"
           xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
           xmlns:bt="http://schemas.microsoft.com/office/officeappbasictypes/1.0"
           xmlns:ov="http://schemas.microsoft.com/office/taskpaneappversionoverrides"
           xsi:type="TaskPaneApp">
  <Id>${EXCEL_ADDIN_ID}</Id>
  <Version>1.0.0.0</Version>
  <ProviderName>Sextant</ProviderName>
  <DefaultLocale>en-US</DefaultLocale>
  <DisplayName DefaultValue="Sextant metrics"/>
  <Description DefaultValue="Pick a model's measures and dimensions and get them as an Excel table you can refresh."/>
  <IconUrl DefaultValue="${icon(32)}"/>
  <HighResolutionIconUrl DefaultValue="${icon(64)}"/>
  <SupportUrl DefaultValue="${base}/"/>
  <AppDomains>
    <AppDomain>${base}</AppDomain>
  </AppDomains>
  <Hosts>
    <Host Name="Workbook"/>
  </Hosts>
  <Requirements>
    <Sets DefaultMinVersion="1.1">
      <Set Name="ExcelApi" MinVersion="1.7"/>
    </Sets>
  </Requirements>
  <DefaultSettings>
    <SourceLocation DefaultValue="${base}/excel/"/>
  </DefaultSettings>
  <Permissions>ReadWriteDocument</Permissions>
  <VersionOverrides xmlns="http://schemas.microsoft.com/office/taskpaneappversionoverrides" xsi:type="VersionOverridesV1_0">
    <Hosts>
      <Host xsi:type="Workbook">
        <DesktopFormFactor>
          <ExtensionPoint xsi:type="PrimaryCommandSurface">
            <OfficeTab id="TabData">
              <Group id="Sextant.Group">
                <Label resid="Sextant.GroupLabel"/>
                <Icon>
                  <bt:Image size="16" resid="Sextant.Icon16"/>
                  <bt:Image size="32" resid="Sextant.Icon32"/>
                  <bt:Image size="80" resid="Sextant.Icon80"/>
                </Icon>
                <Control xsi:type="Button" id="Sextant.OpenPane">
                  <Label resid="Sextant.ButtonLabel"/>
                  <Supertip>
                    <Title resid="Sextant.ButtonLabel"/>
                    <Description resid="Sextant.ButtonTip"/>
                  </Supertip>
                  <Icon>
                    <bt:Image size="16" resid="Sextant.Icon16"/>
                    <bt:Image size="32" resid="Sextant.Icon32"/>
                    <bt:Image size="80" resid="Sextant.Icon80"/>
                  </Icon>
                  <Action xsi:type="ShowTaskpane">
                    <TaskpaneId>Sextant.Pane</TaskpaneId>
                    <SourceLocation resid="Sextant.PaneUrl"/>
                  </Action>
                </Control>
              </Group>
            </OfficeTab>
          </ExtensionPoint>
        </DesktopFormFactor>
      </Host>
    </Hosts>
    <Resources>
      <bt:Images>
        <bt:Image id="Sextant.Icon16" DefaultValue="${icon(16)}"/>
        <bt:Image id="Sextant.Icon32" DefaultValue="${icon(32)}"/>
        <bt:Image id="Sextant.Icon80" DefaultValue="${icon(80)}"/>
      </bt:Images>
      <bt:Urls>
        <bt:Url id="Sextant.PaneUrl" DefaultValue="${base}/excel/"/>
      </bt:Urls>
      <bt:ShortStrings>
        <bt:String id="Sextant.GroupLabel" DefaultValue="Sextant"/>
        <bt:String id="Sextant.ButtonLabel" DefaultValue="Metrics"/>
      </bt:ShortStrings>
      <bt:LongStrings>
        <bt:String id="Sextant.ButtonTip" DefaultValue="Open Sextant to insert or refresh metrics tables."/>
      </bt:LongStrings>
    </Resources>
  </VersionOverrides>
</OfficeApp>
`;
}
