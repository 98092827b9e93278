/**
 * `x`: X (Twitter) API v2 user timelines with public_metrics (docs/connectors/x.md).
 *
 * - `users`: `GET /2/users?ids=…&user.fields=public_metrics,username,name` — one record per user.
 * - `user_metrics`: the same lookup as one record per user and run day (followers as a balance).
 * - `tweets`: `GET /2/users/:id/tweets?start_time=&end_time=&max_results=100&tweet.fields=created_at,public_metrics,referenced_tweets,in_reply_to_user_id,attachments,entities&expansions=attachments.media_keys&media.fields=type&exclude=retweets`,
 *   paged by `meta.next_token` → `pagination_token`. X keeps no history of a tweet's counters, so each run
 *   records a snapshot of every tweet of the window dated the run's day. A tweet's media types come from
 *   the page's `includes.media` (by `attachments.media_keys`), its links from `entities.urls`.
 *
 * A 429 carries `x-rate-limit-reset` (epoch seconds) and no Retry-After: the run waits until then.
 */
import { paginate, recordsAt, withParams } from '../paginate.js';
import type { ConnectorType } from '../types.js';
import { utcDay } from '../windows.js';

export interface XSettings {
  userIds: string[];
}

export const X_BASE_URL = 'https://api.x.com/2';

interface Metrics {
  followers_count?: number;
  impression_count?: number;
  like_count?: number;
  reply_count?: number;
  retweet_count?: number;
  quote_count?: number;
  bookmark_count?: number;
}

/** A link to a tweet or its media on X itself (a quoted tweet's, a photo's): not a link to another site. */
const X_STATUS_URL = /^https?:\/\/(?:www\.|mobile\.)?(?:x|twitter)\.com\/[^/]+\/status\/\d+/i;

/**
 * A tweet's `post_type`: from its `referenced_tweets` first — `retweet`, `reply`, `thread` (a reply to
 * its own author), `quote` —, then its media (`mediaTypes`: media key → type, from the page's
 * `includes.media`) — `video` for a video or an animated GIF, `photo` —, then `link` when `entities.urls`
 * has a URL to another site (not media, not a tweet), else `tweet`.
 */
export function postTypeOf(tweet: Record<string, unknown>, userId: string, mediaTypes: ReadonlyMap<string, string> = new Map()): string {
  const refs = Array.isArray(tweet.referenced_tweets) ? (tweet.referenced_tweets as Array<{ type?: unknown }>) : [];
  const types = new Set(refs.map((r) => r?.type));
  if (types.has('retweeted')) return 'retweet';
  if (types.has('replied_to')) return String(tweet.in_reply_to_user_id ?? '') === String(tweet.author_id ?? userId) ? 'thread' : 'reply';
  if (types.has('quoted')) return 'quote';
  const keys = (tweet.attachments as { media_keys?: unknown } | undefined)?.media_keys;
  const media = Array.isArray(keys) ? keys.map((k) => mediaTypes.get(String(k))) : [];
  if (media.some((t) => t === 'video' || t === 'animated_gif')) return 'video';
  if (media.includes('photo')) return 'photo';
  const urls = (tweet.entities as { urls?: unknown } | undefined)?.urls;
  if (Array.isArray(urls) && urls.some((u: { media_key?: unknown; expanded_url?: unknown; url?: unknown } | null) => u && u.media_key === undefined && !X_STATUS_URL.test(String(u.expanded_url ?? u.url ?? '')))) return 'link';
  return 'tweet';
}

/** Media key → type of a page's `includes.media`. */
function mediaTypesOf(json: unknown): Map<string, string> {
  const media = (json as { includes?: { media?: unknown } } | undefined)?.includes?.media;
  const out = new Map<string, string>();
  if (Array.isArray(media)) for (const m of media as Array<{ media_key?: unknown; type?: unknown } | null>) if (m && typeof m.type === 'string') out.set(String(m.media_key), m.type);
  return out;
}

export const xType: ConnectorType<XSettings> = {
  name: 'x',
  description: 'X (Twitter) API v2: users and their tweets with public_metrics.',
  mode: 'window',
  maxWindowDays: 30,
  defaultBaseUrl: X_BASE_URL,
  credentials: ['bearer_token'],
  streams: {
    users: { description: 'One record per user: id, name, username, followers_count.', key: ['id'] },
    user_metrics: { description: 'One record per user and run day: followers_count.', key: ['account_id', 'metric_date'] },
    tweets: { description: 'One snapshot per tweet and run day: impressions, likes, comments (replies), shares (retweets + quotes).', key: ['platform', 'post_id', 'metric_date'] },
  },
  parseSettings(raw, problem) {
    for (const k of Object.keys(raw)) if (k !== 'user_ids') problem(k, `unknown setting "${k}"; expected user_ids`);
    const ids = raw.user_ids;
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > 100 || !ids.every((v) => /^\d+$/.test(String(v)))) {
      problem('user_ids', 'expected a list of 1 to 100 numeric user ids (quote them: "3066008697")');
      return { userIds: [] };
    }
    return { userIds: ids.map(String) };
  },
  async *pull(ctx, window) {
    const headers = { authorization: `Bearer ${ctx.credentials.bearer_token}`, accept: 'application/json' };
    const today = utcDay(ctx.now());
    const lookup = withParams(`${ctx.baseUrl}/users`, { ids: ctx.settings.userIds.join(','), 'user.fields': 'public_metrics,username,name,created_at' });
    for (const stream of ['users', 'user_metrics'] as const) {
      if (!ctx.streams.has(stream)) continue;
      const res = await ctx.http.get(stream, lookup, headers, ctx.signal);
      yield {
        stream,
        body: res.body,
        records: () =>
          recordsAt(res.json, 'data').map((u) => {
            const followers = (u.public_metrics as Metrics | undefined)?.followers_count;
            return stream === 'users'
              ? { id: u.id, name: u.name, username: u.username, platform: 'x', followers_count: followers }
              : { account_id: u.id, metric_date: today, platform: 'x', followers_count: followers };
          }),
      };
    }
    if (!ctx.streams.has('tweets')) return;
    for (const id of ctx.settings.userIds) {
      const url = withParams(`${ctx.baseUrl}/users/${id}/tweets`, {
        start_time: `${window.from}T00:00:00Z`,
        end_time: `${window.to}T23:59:59Z`,
        max_results: 100,
        'tweet.fields': 'created_at,public_metrics,referenced_tweets,in_reply_to_user_id,attachments,entities',
        // The media objects of the page's tweets come in `includes.media`: their type tells a photo from a video.
        expansions: 'attachments.media_keys',
        'media.fields': 'type',
        // Replies stay (threads are replies to oneself); a retweet's metrics are its original's.
        exclude: 'retweets',
      });
      for await (const res of paginate(ctx.http, 'tweets', { url, headers }, { type: 'cursor', cursorPath: 'meta.next_token', cursorParam: 'pagination_token' }, (j) => recordsAt(j, 'data').length, ctx.signal)) {
        yield {
          stream: 'tweets',
          body: res.body,
          records: () => {
            const mediaTypes = mediaTypesOf(res.json);
            return recordsAt(res.json, 'data').map((t) => {
              const m = (t.public_metrics ?? {}) as Metrics;
              return {
                platform: 'x',
                post_id: t.id,
                account_id: id,
                metric_date: today,
                published_at: t.created_at,
                post_type: postTypeOf(t, id, mediaTypes),
                impressions: m.impression_count,
                likes: m.like_count,
                comments: m.reply_count,
                shares: m.retweet_count === undefined && m.quote_count === undefined ? undefined : (m.retweet_count ?? 0) + (m.quote_count ?? 0),
              };
            });
          },
        };
      }
    }
  },
};
