/**
 * `$metadata`: the team's entity model as CSDL XML (EDMX 4.0). Always XML: Power Query refuses a
 * JSON metadata document, and Tableau assumes XML. No navigation properties (the sets are flat; Power
 * Query's older OData implementation chokes on them). Descriptions go in `Core.Description`, measure
 * formats and types in the service's own `Sextant.Format` / `Sextant.MeasureType` terms, and the
 * capabilities the feed has in the Capabilities vocabulary.
 */
import type { EdmEntitySet, EdmProperty, EdmService } from './entity-model.js';

const CORE = 'https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Core.V1.xml';
const CAPABILITIES = 'https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Capabilities.V1.xml';

/** XML attribute/text escaping. */
export function xmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

function annotation(term: string, value: string): string {
  return `<Annotation Term="${term}" String="${xmlEscape(value)}"/>`;
}

function property(p: EdmProperty): string {
  const facets =
    p.type === 'Edm.Decimal' ? ' Scale="variable"' : p.type === 'Edm.DateTimeOffset' ? ' Precision="3"' : '';
  const nullable = p.role === 'key' ? ' Nullable="false"' : '';
  const notes: string[] = [];
  if (p.description) notes.push(annotation('Core.Description', p.description));
  if (p.format) notes.push(annotation('Sextant.Format', p.format));
  if (p.measureType) notes.push(annotation('Sextant.MeasureType', p.measureType));
  const open = `<Property Name="${p.name}" Type="${p.type}"${nullable}${facets}`;
  return notes.length === 0 ? `${open}/>` : `${open}>${notes.join('')}</Property>`;
}

function entityType(set: EdmEntitySet): string {
  const key = set.properties.find((p) => p.role === 'key');
  const doc = set.description ? annotation('Core.Description', set.description) : '';
  return (
    `<EntityType Name="${set.name}">` +
    (key ? `<Key><PropertyRef Name="${key.name}"/></Key>` : '') +
    set.properties.map(property).join('') +
    doc +
    `</EntityType>`
  );
}

/** What each entity set supports, in the Capabilities vocabulary (read by clients that plan requests). */
function capabilities(ns: string, set: EdmEntitySet): string {
  return (
    `<Annotations Target="${ns}.Container/${set.name}">` +
    `<Annotation Term="Capabilities.CountRestrictions"><Record><PropertyValue Property="Countable" Bool="true"/></Record></Annotation>` +
    `<Annotation Term="Capabilities.TopSupported" Bool="true"/>` +
    `<Annotation Term="Capabilities.SkipSupported" Bool="true"/>` +
    `<Annotation Term="Capabilities.InsertRestrictions"><Record><PropertyValue Property="Insertable" Bool="false"/></Record></Annotation>` +
    `<Annotation Term="Capabilities.UpdateRestrictions"><Record><PropertyValue Property="Updatable" Bool="false"/></Record></Annotation>` +
    `<Annotation Term="Capabilities.DeleteRestrictions"><Record><PropertyValue Property="Deletable" Bool="false"/></Record></Annotation>` +
    `</Annotations>`
  );
}

/** The EDMX document of a team's service. */
export function metadataXml(service: EdmService): string {
  const ns = service.namespace;
  return (
    `<?xml version="1.0" encoding="utf-8"?>` +
    `<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">` +
    `<edmx:Reference Uri="${CORE}"><edmx:Include Namespace="Org.OData.Core.V1" Alias="Core"/></edmx:Reference>` +
    `<edmx:Reference Uri="${CAPABILITIES}"><edmx:Include Namespace="Org.OData.Capabilities.V1" Alias="Capabilities"/></edmx:Reference>` +
    `<edmx:DataServices>` +
    // The service's own terms live in their own schema so that their qualified names read Sextant.Format.
    `<Schema Namespace="Sextant" xmlns="http://docs.oasis-open.org/odata/ns/edm">` +
    `<Term Name="Format" Type="Edm.String" AppliesTo="Property">${annotation('Core.Description', 'How the value is meant to be shown: integer, decimal, percent, currency or duration')}</Term>` +
    `<Term Name="MeasureType" Type="Edm.String" AppliesTo="Property">${annotation('Core.Description', 'How the measure aggregates: count, count_distinct, sum, avg, min, max, last, ratio or derived')}</Term>` +
    `</Schema>` +
    `<Schema Namespace="${ns}" xmlns="http://docs.oasis-open.org/odata/ns/edm">` +
    service.sets.map(entityType).join('') +
    `<EntityContainer Name="Container">` +
    service.sets.map((s) => `<EntitySet Name="${s.name}" EntityType="${ns}.${s.name}"/>`).join('') +
    `</EntityContainer>` +
    service.sets.map((s) => capabilities(ns, s)).join('') +
    `</Schema>` +
    `</edmx:DataServices>` +
    `</edmx:Edmx>`
  );
}
