/**
 * The built-in connector types, by the name `sources/*.yml` give as `type`. Adding a type: write
 * `<type>/<type>.ts` exporting a {@link ConnectorType} and list it here (see README.md).
 */
import { crimsonHexagonType } from './crimson-hexagon/crimson-hexagon.js';
import { facebookPagesType } from './facebook-pages/facebook-pages.js';
import { googleAnalyticsType } from './google-analytics/google-analytics.js';
import { instagramType } from './instagram/instagram.js';
import { mailchimpType } from './mailchimp/mailchimp.js';
import { postgresType } from './postgres/postgres.js';
import { restType } from './rest/rest.js';
import { unmetricType } from './unmetric/unmetric.js';
import { xType } from './x/x.js';
import type { ConnectorType } from './types.js';

/** Every connector type this version knows. */
export const CONNECTOR_TYPES: ReadonlyMap<string, ConnectorType> = new Map<string, ConnectorType>(
  ([facebookPagesType, instagramType, xType, googleAnalyticsType, mailchimpType, crimsonHexagonType, unmetricType, postgresType, restType] as ConnectorType[]).map((t) => [t.name, t]),
);
