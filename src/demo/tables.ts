/**
 * The warehouse tables of the example project (examples/agency/targets/*.yml), as TableSpecs.
 *
 * These are the tables the connectors and manual uploads of the agency write; the demo generator
 * fills them with made-up rows of the same shape. A test (test/integration/demo-project.test.ts)
 * checks that every spec here equals its target file, so the two cannot drift apart.
 */
import type { ColumnTypeName, TableColumn, TableSpec } from '../warehouse/port.js';

/** Columns every loaded row carries (docs/targets.md): lineage back to the raw input. */
export const LINEAGE_COLUMNS: readonly TableColumn[] = [
  { name: '_run_id', type: 'string' },
  { name: '_loaded_at', type: 'timestamp' },
  { name: '_source_object', type: 'string' },
];

type ColumnList = Record<string, ColumnTypeName | [ColumnTypeName, 'required']>;

function spec(table: string, key: string[], columns: ColumnList): TableSpec {
  const own: TableColumn[] = Object.entries(columns).map(([name, t]) =>
    Array.isArray(t) ? { name, type: t[0], required: true } : { name, type: t },
  );
  return { table, key, columns: [...own, ...LINEAGE_COLUMNS] };
}

const R = 'required' as const;

/** One row per social account (Facebook Page, Instagram business account, X user). */
export const SOCIAL_ACCOUNTS = spec('social.accounts', ['account_id'], {
  account_id: ['string', R],
  platform: ['string', R],
  account_name: ['string', R],
  handle: 'string',
  brand: 'string',
  region: 'string',
  country: 'string',
  category: 'string',
  followers_tier: 'string',
  connected_on: 'date',
  is_active: 'boolean',
});

/** Daily insights of one published post (Facebook post insights, Instagram media insights, X public_metrics). */
export const SOCIAL_POST_DAILY = spec('social.post_daily', ['platform', 'post_id', 'metric_date'], {
  platform: ['string', R],
  post_id: ['string', R],
  metric_date: ['date', R],
  account_id: ['string', R],
  account_name: 'string',
  post_type: 'string',
  published_at: 'timestamp',
  impressions: 'bigint',
  reach: 'bigint',
  likes: 'integer',
  comments: 'integer',
  shares: 'integer',
  saves: 'integer',
  video_views: 'bigint',
  link_clicks: 'integer',
});

/** Daily account-level insights: followers (a balance) and the day's gains and losses. */
export const SOCIAL_ACCOUNT_DAILY = spec('social.account_daily', ['account_id', 'metric_date'], {
  account_id: ['string', R],
  metric_date: ['date', R],
  platform: ['string', R],
  follower_count: 'bigint',
  new_followers: 'integer',
  lost_followers: 'integer',
  profile_views: 'integer',
});

/** Posts of platforms without a connector, uploaded by hand (docs/targets.md, verbatim). */
export const SOCIAL_MANUAL_POSTS = spec('social.manual_posts', ['platform', 'post_id', 'metric_date'], {
  platform: ['string', R],
  post_id: ['string', R],
  metric_date: ['date', R],
  impressions: 'integer',
  likes: 'integer',
});

/** GA4 runReport by date × sessionSource × sessionMedium × deviceCategory × country, per property. */
export const WEB_GA4_DAILY = spec('web.ga4_daily', ['property_id', 'metric_date', 'session_source', 'session_medium', 'device_category', 'country'], {
  property_id: ['string', R],
  metric_date: ['date', R],
  session_source: ['string', R],
  session_medium: ['string', R],
  device_category: ['string', R],
  country: ['string', R],
  site: 'string',
  sessions: 'integer',
  total_users: 'integer',
  new_users: 'integer',
  engaged_sessions: 'integer',
  user_engagement_duration: 'bigint',
  screen_page_views: 'integer',
  conversions: 'integer',
  purchase_revenue: 'decimal',
  ad_clicks: 'integer',
  ad_cost: 'decimal',
});

/** GA4 runReport by date × pagePath, per property. */
export const WEB_PAGE_DAILY = spec('web.page_daily', ['property_id', 'metric_date', 'page_path'], {
  property_id: ['string', R],
  metric_date: ['date', R],
  page_path: ['string', R],
  site: 'string',
  page_title: 'string',
  content_group: 'string',
  screen_page_views: 'integer',
  total_users: 'integer',
  entrances: 'integer',
  user_engagement_duration: 'bigint',
});

/** Sessions of sites without GA4 (a legacy microsite, event landing pages), uploaded by hand. */
export const WEB_MANUAL_SESSIONS = spec('web.manual_sessions', ['site', 'metric_date', 'channel'], {
  site: ['string', R],
  metric_date: ['date', R],
  channel: ['string', R],
  sessions: ['integer', R],
  users: 'integer',
  conversions: 'integer',
});

/** Mailchimp campaign activity per campaign and day (the report's timeseries and email activity). */
export const EMAIL_CAMPAIGN_DAILY = spec('email.campaign_daily', ['campaign_id', 'metric_date'], {
  campaign_id: ['string', R],
  metric_date: ['date', R],
  campaign_title: 'string',
  campaign_type: 'string',
  subject_line: 'string',
  list_id: 'string',
  list_name: 'string',
  send_time: 'timestamp',
  emails_sent: 'integer',
  unique_opens: 'integer',
  proxy_excluded_unique_opens: 'integer',
  opens_total: 'integer',
  unique_clicks: 'integer',
  clicks_total: 'integer',
  hard_bounces: 'integer',
  soft_bounces: 'integer',
  unsubscribed: 'integer',
  abuse_reports: 'integer',
});

/** Mailchimp audience (list) size per day: a balance, plus the day's changes. */
export const EMAIL_LIST_DAILY = spec('email.list_daily', ['list_id', 'metric_date'], {
  list_id: ['string', R],
  metric_date: ['date', R],
  list_name: 'string',
  member_count: 'integer',
  subscribed: 'integer',
  unsubscribed: 'integer',
  cleaned: 'integer',
});

/** Campaigns sent from other tools (one row per campaign, lifetime totals), uploaded by hand. */
export const EMAIL_MANUAL_CAMPAIGNS = spec('email.manual_campaigns', ['campaign_id'], {
  campaign_id: ['string', R],
  campaign_name: 'string',
  send_date: ['date', R],
  audience: 'string',
  recipients: 'integer',
  unique_opens: 'integer',
  unique_clicks: 'integer',
  unsubscribes: 'integer',
  revenue: 'decimal',
});

/** Crimson Hexagon monitor results: documents per day, topic, source and sentiment. */
export const LISTENING_MENTIONS_DAILY = spec('listening.mentions_daily', ['monitor_id', 'metric_date', 'topic', 'source', 'sentiment'], {
  monitor_id: ['string', R],
  metric_date: ['date', R],
  topic: ['string', R],
  source: ['string', R],
  sentiment: ['string', R],
  monitor_name: 'string',
  brand: 'string',
  mentions: 'integer',
  potential_reach: 'bigint',
});

/** Unmetric competitive benchmark: each brand of a competitive set, per platform and day. */
export const LISTENING_BRAND_DAILY = spec('listening.brand_daily', ['brand', 'platform', 'metric_date'], {
  brand: ['string', R],
  platform: ['string', R],
  metric_date: ['date', R],
  competitive_set: 'string',
  is_client: 'boolean',
  followers: 'bigint',
  posts: 'integer',
  engagements: 'integer',
  mentions: 'integer',
});

/** Press clippings and broadcast mentions from a media-monitoring export, uploaded by hand. */
export const LISTENING_MANUAL_MENTIONS = spec('listening.manual_mentions', ['metric_date', 'brand', 'outlet'], {
  metric_date: ['date', R],
  brand: ['string', R],
  outlet: ['string', R],
  outlet_type: 'string',
  mentions: 'integer',
  estimated_reach: 'bigint',
  sentiment_score: 'double',
  details: 'json',
});

/** Every demo table, in the order the generator writes them (dimensions before facts). */
export const DEMO_TABLES: readonly TableSpec[] = [
  SOCIAL_ACCOUNTS,
  SOCIAL_POST_DAILY,
  SOCIAL_ACCOUNT_DAILY,
  SOCIAL_MANUAL_POSTS,
  WEB_GA4_DAILY,
  WEB_PAGE_DAILY,
  WEB_MANUAL_SESSIONS,
  EMAIL_CAMPAIGN_DAILY,
  EMAIL_LIST_DAILY,
  EMAIL_MANUAL_CAMPAIGNS,
  LISTENING_MENTIONS_DAILY,
  LISTENING_BRAND_DAILY,
  LISTENING_MANUAL_MENTIONS,
];

/** Tables whose rows count towards `rows` of generateDemo (all but the account dimension). */
export const DEMO_FACT_TABLES: readonly string[] = DEMO_TABLES.filter((t) => t !== SOCIAL_ACCOUNTS).map((t) => t.table);
