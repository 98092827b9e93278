/**
 * X API v2: `GET /2/users?ids=` and `GET /2/users/:id/tweets` (newest first; `start_time`/`end_time`
 * inclusive RFC 3339; `max_results` 5–100; `meta.next_token` → `pagination_token`). Bearer auth;
 * problem-JSON errors; a 429 carries `x-rate-limit-reset` (epoch seconds) and no Retry-After, as X does.
 * Its users are the demo's X accounts: their tweets are the demo's X posts, and a tweet's
 * `public_metrics` are the sums of its daily social.post_daily rows (impressions, likes, replies =
 * comments, retweets = shares), followers the account's latest social.account_daily row. A user the demo
 * does not have (the `users` option) posts four tweets a day with hash-derived counts. `public_metrics`
 * grow with `setGrowth`.
 *
 * Media and links as X shows them: a photo or video tweet has `attachments.media_keys`, whose objects
 * (`media_key`, `type`: photo, video, animated_gif) come in the page's `includes.media` when the request
 * asks `expansions=attachments.media_keys`, and a `entities.urls` entry for the media (with its
 * `media_key`); a link tweet has an `entities.urls` entry to another site. Each part is in the answer
 * only when asked for (`tweet.fields=attachments,entities`, the expansion), as with X.
 */
import { daysBetween, type DemoDataOptions } from '../demo-data.js';
import { bearerToken, json, startFakeServer, type FakeReply, type FakeServer } from '../fake-server.js';
import { hash } from '../facebook/graph-api.js';
import { demoSocial } from '../social-demo.js';

export interface Tweet {
  id: string;
  author_id: string;
  created_at: string;
  text: string;
  public_metrics: { retweet_count: number; reply_count: number; like_count: number; quote_count: number; impression_count: number; bookmark_count: number };
  /** A reply, quote or retweet names the tweet it refers to; a thread is a reply to the author's own tweet. */
  referenced_tweets?: Array<{ type: 'replied_to' | 'quoted' | 'retweeted'; id: string }>;
  in_reply_to_user_id?: string;
  attachments?: { media_keys: string[] };
  entities?: { urls: Array<{ start: number; end: number; url: string; expanded_url: string; display_url: string; media_key?: string }> };
}

/** A media object of `includes.media`. */
export interface XMedia {
  media_key: string;
  type: 'photo' | 'video' | 'animated_gif';
}

/** The media, link entity and text a tweet of `kind` (photo, video, animated_gif, link) carries. */
function withAttachment(t: Tweet, username: string, kind: 'photo' | 'video' | 'animated_gif' | 'link'): { tweet: Tweet; media?: XMedia } {
  const short = `https://t.co/${t.id.slice(-10)}`;
  const start = t.text.length + 1;
  const text = `${t.text} ${short}`;
  if (kind === 'link') {
    return { tweet: { ...t, text, entities: { urls: [{ start, end: text.length, url: short, expanded_url: `https://blog.example.com/posts/${t.id}`, display_url: `blog.example.com/posts/${t.id.slice(0, 6)}…` }] } } };
  }
  const mediaKey = `${kind === 'photo' ? 3 : kind === 'video' ? 13 : 16}_${t.id}`;
  const path = kind === 'photo' ? 'photo' : 'video';
  return {
    tweet: { ...t, text, attachments: { media_keys: [mediaKey] }, entities: { urls: [{ start, end: text.length, url: short, expanded_url: `https://x.com/${username}/status/${t.id}/${path}/1`, display_url: `pic.x.com/${t.id.slice(-10)}`, media_key: mediaKey }] } },
    media: { media_key: mediaKey, type: kind },
  };
}

/**
 * What a tweet is, as the connector's `post_type` should say: the demo's X post type where the fake
 * serves the demo's posts (`thread` a self-reply, `video` a video attached, `link` a link to another
 * site), else the kind its hash-derived tweet was given (a plain tweet on one day in four, a photo, a
 * video or an animated GIF — `video` too — or a link on the others).
 */
export function xPostTypeOf(t: Tweet): string {
  const ref = t.referenced_tweets?.[0];
  if (!ref) {
    const key = t.attachments?.media_keys[0];
    if (key) return key.startsWith('3_') ? 'photo' : 'video';
    return t.entities?.urls.length ? 'link' : 'tweet';
  }
  if (ref.type === 'replied_to') return t.in_reply_to_user_id === t.author_id ? 'thread' : 'reply';
  return ref.type === 'quoted' ? 'quote' : 'retweet';
}

export interface XFake extends FakeServer {
  baseUrl: string;
  token: string;
  users: Array<{ id: string; name: string; username: string }>;
  tweets(userId: string, from: string, to: string): Tweet[];
  /** The media object of a media key (what `includes.media` lists). */
  media(mediaKey: string): XMedia | undefined;
  setGrowth(factor: number): void;
  /** Epoch seconds the next 429 says to wait until (default: now + its seconds). */
  now: () => number;
}

const problem = (status: number, title: string, detail: string, headers: Record<string, string> = {}): FakeReply =>
  json(status, { title, type: status === 429 ? 'about:blank' : `https://api.twitter.com/2/problems/${title.toLowerCase().replace(/\s+/g, '-')}`, status, detail }, headers);

export async function startXFake(options: { port?: number; token?: string; users?: Array<{ id: string; name: string; username: string }>; demo?: DemoDataOptions } = {}): Promise<XFake> {
  const token = options.token ?? 'AAAAAAAAAAAAAAAAAAAAAfakeXbearer%3D123';
  const demo = demoSocial('x', options.demo);
  const users = options.users ?? [...demo.values()].map(({ account: a }) => ({ id: a.accountId, name: a.name, username: a.handle.replace(/^@/, '') }));
  let growth = 1;
  const m = (id: string, k: string, mod: number) => Math.round((hash(`${id}|${k}`, mod) + 1) * growth);
  const total = (rows: Iterable<Record<string, unknown>>, column: string) => {
    let n = 0;
    for (const r of rows) n += Number(r[column] ?? 0);
    return Math.round(n * growth);
  };
  const followers = (userId: string): number => {
    const latest = demo.has(userId) ? [...demo.get(userId)!.daily.values()].at(-1)?.follower_count : undefined;
    return latest !== undefined ? Math.round(Number(latest) * growth) : m(userId, 'followers', 100000);
  };
  const mediaByKey = new Map<string, XMedia>();
  /** `t` with the attachment of `kind` (none for a plain tweet), its media object remembered for `includes`. */
  const attach = (t: Tweet, kind: string | undefined): Tweet => {
    if (kind !== 'photo' && kind !== 'video' && kind !== 'animated_gif' && kind !== 'link') return t;
    const username = users.find((u) => u.id === t.author_id)?.username ?? t.author_id;
    const { tweet, media } = withAttachment(t, username, kind);
    if (media) mediaByKey.set(media.media_key, media);
    return tweet;
  };
  const tweets = (userId: string, from: string, to: string): Tweet[] => {
    const a = demo.get(userId);
    if (a) {
      return a.posts
        .filter((p) => p.publishedAt.slice(0, 10) >= from && p.publishedAt.slice(0, 10) <= to)
        .map((p, i, all): Tweet => attach({
          id: p.id,
          author_id: userId,
          created_at: `${p.publishedAt.replace(' ', 'T')}.000Z`,
          text: `A ${p.postType} of ${p.publishedAt.slice(0, 10)}`,
          public_metrics: { retweet_count: total(p.days.values(), 'shares'), reply_count: total(p.days.values(), 'comments'), like_count: total(p.days.values(), 'likes'), quote_count: 0, impression_count: total(p.days.values(), 'impressions'), bookmark_count: 0 },
          // A thread continues the account's previous post (or itself, the first of the range).
          ...(p.postType === 'thread' ? { referenced_tweets: [{ type: 'replied_to' as const, id: (all[i - 1] ?? p).id }], in_reply_to_user_id: userId } : {}),
        }, p.postType))
        .reverse();
    }
    return daysBetween(from, to)
      .flatMap((d) =>
        [7, 11, 15, 19].map((hour, k): Tweet => {
          const id = `1${userId.slice(-4)}${d.replace(/-/g, '')}${k}`;
          const first = `1${userId.slice(-4)}${d.replace(/-/g, '')}0`;
          // The day's four: a tweet, a quote, a reply to someone else, and a thread on the first.
          const refs: Partial<Tweet>[] = [
            {},
            { referenced_tweets: [{ type: 'quoted', id: '1380581922200424449' }] },
            { referenced_tweets: [{ type: 'replied_to', id: '1380581922200424449' }], in_reply_to_user_id: '783214' },
            { referenced_tweets: [{ type: 'replied_to', id: first }], in_reply_to_user_id: userId },
          ];
          // The day's first: a plain tweet, a photo, a video, an animated GIF or a link, by the day.
          const kind = k === 0 ? [undefined, 'photo', 'video', 'animated_gif', 'link'][Number(d.slice(8)) % 5] : undefined;
          return attach(
            {
              ...refs[k],
              id,
              author_id: userId,
              created_at: `${d}T${String(hour).padStart(2, '0')}:15:00.000Z`,
              text: `Post ${k + 1} of ${d}`,
              public_metrics: { retweet_count: m(id, 'rt', 50), reply_count: m(id, 're', 30), like_count: m(id, 'li', 500), quote_count: m(id, 'qu', 10), impression_count: m(id, 'im', 20000), bookmark_count: m(id, 'bo', 20) },
            },
            kind,
          );
        }),
      )
      .reverse();
  };
  const fake = { now: () => Math.floor(Date.now() / 1000) };
  const authed = (req: { headers: Record<string, unknown> }) => bearerToken(req as never) === token;
  const server = await startFakeServer(
    {
      name: 'x',
      routes: [
        {
          method: 'GET',
          path: /^\/2\/users$/,
          data: true,
          handle: (req) => {
            if (!authed(req)) return problem(401, 'Unauthorized', 'Unauthorized');
            const ids = (req.query.get('ids') ?? '').split(',');
            return json(200, { data: users.filter((u) => ids.includes(u.id)).map((u) => ({ ...u, public_metrics: { followers_count: followers(u.id), following_count: 300, tweet_count: 5000, listed_count: 40 } })) });
          },
        },
        {
          method: 'GET',
          path: /^\/2\/users\/(\d+)\/tweets$/,
          data: true,
          handle: (req, [id]) => {
            if (!authed(req)) return problem(401, 'Unauthorized', 'Unauthorized');
            const max = Number(req.query.get('max_results') ?? 10);
            if (!Number.isInteger(max) || max < 5 || max > 100) return json(400, { errors: [{ parameters: { max_results: [String(max)] }, message: 'The `max_results` query parameter value is not between 5 and 100' }], title: 'Invalid Request', detail: 'One or more parameters to your request was invalid.', type: 'https://api.twitter.com/2/problems/invalid-request' });
            const start = req.query.get('start_time');
            const end = req.query.get('end_time');
            if (!start || !end) return problem(400, 'Invalid Request', 'start_time and end_time are required by this fake');
            // exclude=replies drops replies (threads too: they are replies), exclude=retweets retweets.
            const exclude = new Set((req.query.get('exclude') ?? '').split(','));
            const excluded = (t: Tweet) => t.referenced_tweets?.some((r) => (r.type === 'replied_to' && exclude.has('replies')) || (r.type === 'retweeted' && exclude.has('retweets'))) ?? false;
            const all = tweets(id, start.slice(0, 10), end.slice(0, 10)).filter((t) => !excluded(t) && t.created_at >= start.replace('Z', '.000Z') && t.created_at <= end.replace('Z', '.999Z'));
            const token2 = req.query.get('pagination_token');
            const from = token2 ? Number(Buffer.from(token2, 'base64url').toString()) : 0;
            const fields = new Set((req.query.get('tweet.fields') ?? '').split(','));
            const expanded = (req.query.get('expansions') ?? '').split(',').includes('attachments.media_keys');
            // Only the parts asked for: attachments (by the field or the expansion), entities, and the media objects.
            const page = all.slice(from, from + max).map(({ attachments, entities, ...t }) => ({
              ...t,
              ...(attachments && (expanded || fields.has('attachments')) ? { attachments } : {}),
              ...(entities && fields.has('entities') ? { entities } : {}),
            }));
            const more = from + max < all.length;
            if (page.length === 0) return json(200, { meta: { result_count: 0 } });
            const media = expanded ? page.flatMap((t) => t.attachments?.media_keys ?? []).map((k) => mediaByKey.get(k)!) : [];
            return json(200, { data: page, ...(media.length > 0 ? { includes: { media } } : {}), meta: { result_count: page.length, newest_id: page[0].id, oldest_id: page[page.length - 1].id, ...(more ? { next_token: Buffer.from(String(from + max)).toString('base64url') } : {}) } });
          },
        },
      ],
      throttled: (_req, seconds) =>
        problem(429, 'Too Many Requests', 'Too Many Requests', { 'x-rate-limit-limit': '900', 'x-rate-limit-remaining': '0', 'x-rate-limit-reset': String(fake.now() + seconds) }),
      serverError: () => problem(503, 'Service Unavailable', 'Service Unavailable'),
      unauthorized: () => problem(401, 'Unauthorized', 'Unauthorized'),
    },
    { port: options.port },
  );
  return Object.assign(server, {
    baseUrl: `${server.url}/2`,
    token,
    users,
    tweets,
    media: (key: string) => mediaByKey.get(key),
    setGrowth: (f: number) => {
      growth = f;
    },
    now: fake.now,
  });
}
