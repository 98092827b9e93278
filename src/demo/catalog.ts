/**
 * The made-up agency's clients and their channels: brands, social accounts, GA4 properties,
 * Mailchimp audiences, listening monitors and competitive sets. Fixed data, not random, so that
 * the demo reads the same on every machine.
 */

/** The social platforms with a connector. */
export const SOCIAL_PLATFORMS = ['facebook', 'instagram', 'x'] as const;
/** A social platform with a connector. */
export type SocialPlatform = (typeof SOCIAL_PLATFORMS)[number];

/** A client brand of the agency. */
export interface Brand {
  name: string;
  slug: string;
  region: 'EMEA' | 'NA' | 'APAC';
  country: string;
  category: string;
  /** Site of the brand's GA4 property. */
  site: string;
  /** Relative size of the brand's audiences. */
  scale: number;
}

/** The agency's clients. */
export const BRANDS: readonly Brand[] = [
  { name: 'Northwind Coffee', slug: 'northwindcoffee', region: 'EMEA', country: 'GB', category: 'Food & beverage', site: 'northwindcoffee.co.uk', scale: 1.0 },
  { name: 'Lumen Outdoor', slug: 'lumenoutdoor', region: 'NA', country: 'US', category: 'Retail', site: 'lumenoutdoor.com', scale: 1.8 },
  { name: 'Harbor & Vine', slug: 'harborandvine', region: 'NA', country: 'CA', category: 'Wine & spirits', site: 'harborandvine.ca', scale: 0.45 },
  { name: 'Kestrel Bank', slug: 'kestrelbank', region: 'APAC', country: 'AU', category: 'Financial services', site: 'kestrelbank.com.au', scale: 1.3 },
];

/** A managed social account: one brand on one platform. */
export interface SocialAccount {
  index: number;
  accountId: string;
  platform: SocialPlatform;
  brand: Brand;
  name: string;
  handle: string;
  /** Followers on the first demo day. */
  startFollowers: number;
  /** Yearly follower growth rate. */
  growth: number;
  /** Day (index) the account was connected to the agency's tools. */
  connectedDay: number;
}

/**
 * How the platforms differ (orders of magnitude from public benchmark reports, e.g. Rival IQ's
 * yearly social media industry benchmarks): Instagram reaches and engages a larger share of its
 * followers than Facebook; X posts are many, short-lived and lightly engaged.
 */
export interface PlatformProfile {
  /** Share of the account's posts relative to the others (posting frequency). */
  postWeight: number;
  /** Lifetime impressions of an average post as a share of followers. */
  impressionsPerFollower: number;
  /** Engagements per impression. */
  engagementRate: number;
  /** Split of engagements into likes, comments, shares (saves on Instagram come on top). */
  mix: { likes: number; comments: number; shares: number };
  /** Decay constant of a post's daily impressions, in days. */
  halfLifeDays: number;
  /** Post types and how often each is used. */
  postTypes: ReadonlyArray<readonly [type: string, weight: number]>;
  followerBase: number;
}

/** The profile of each platform. */
export const PLATFORM_PROFILES: Record<SocialPlatform, PlatformProfile> = {
  facebook: {
    postWeight: 1,
    impressionsPerFollower: 0.06,
    engagementRate: 0.012,
    mix: { likes: 0.72, comments: 0.12, shares: 0.16 },
    halfLifeDays: 1.2,
    postTypes: [['photo', 45], ['video', 20], ['link', 25], ['status', 10]],
    followerBase: 420_000,
  },
  instagram: {
    postWeight: 1,
    impressionsPerFollower: 0.22,
    engagementRate: 0.034,
    mix: { likes: 0.9, comments: 0.06, shares: 0.04 },
    halfLifeDays: 1.8,
    postTypes: [['image', 40], ['carousel', 30], ['reel', 30]],
    followerBase: 160_000,
  },
  x: {
    postWeight: 1.8,
    impressionsPerFollower: 0.03,
    engagementRate: 0.006,
    mix: { likes: 0.68, comments: 0.12, shares: 0.2 },
    halfLifeDays: 0.35,
    postTypes: [['tweet', 60], ['thread', 10], ['video', 12], ['link', 18]],
    followerBase: 55_000,
  },
};

function accountId(platform: SocialPlatform, i: number): string {
  // Real shapes: numeric Page ids, Instagram business account ids starting 17841…, numeric X user ids.
  if (platform === 'facebook') return String(104_857_392_011_000 + i * 7_919_113);
  if (platform === 'instagram') return String(17_841_400_000_000_000n + BigInt(i) * 104_729_331n);
  return String(1_288_834_974 + i * 91_139);
}

/** The social accounts: every brand on every platform, except Harbor & Vine, which is not on X. */
export const SOCIAL_ACCOUNT_LIST: readonly SocialAccount[] = (() => {
  const list: SocialAccount[] = [];
  for (const brand of BRANDS) {
    for (const platform of SOCIAL_PLATFORMS) {
      if (brand.slug === 'harborandvine' && platform === 'x') continue;
      const index = list.length;
      list.push({
        index,
        accountId: accountId(platform, index + 1),
        platform,
        brand,
        name: brand.name,
        handle: platform === 'facebook' ? brand.slug : `@${brand.slug}`,
        startFollowers: Math.round(PLATFORM_PROFILES[platform].followerBase * brand.scale * (0.7 + ((index * 37) % 11) / 18)),
        growth: 0.08 + ((index * 13) % 7) / 40,
        connectedDay: -400 + index * 23,
      });
    }
  }
  return list;
})();

/** Follower tier of an account, as agencies bucket them. */
export function followersTier(followers: number): string {
  if (followers < 10_000) return 'under 10k';
  if (followers < 100_000) return '10k-100k';
  if (followers < 1_000_000) return '100k-1M';
  return 'over 1M';
}

/** A GA4 property per brand. */
export const GA4_PROPERTIES = BRANDS.map((brand, i) => ({ propertyId: String(312_456_780 + i * 1_117), brand }));

/** GA4 session source / medium pairs and their share of sessions, conversion propensity and whether they are paid. */
export const TRAFFIC_SOURCES: ReadonlyArray<{ source: string; medium: string; weight: number; conversion: number; paid: boolean }> = [
  { source: 'google', medium: 'organic', weight: 34, conversion: 1.0, paid: false },
  { source: '(direct)', medium: '(none)', weight: 22, conversion: 1.2, paid: false },
  { source: 'google', medium: 'cpc', weight: 12, conversion: 1.5, paid: true },
  { source: 'bing', medium: 'organic', weight: 3, conversion: 1.0, paid: false },
  { source: 'facebook.com', medium: 'referral', weight: 4, conversion: 0.5, paid: false },
  { source: 'l.instagram.com', medium: 'referral', weight: 3, conversion: 0.5, paid: false },
  { source: 't.co', medium: 'referral', weight: 1.5, conversion: 0.4, paid: false },
  { source: 'facebook', medium: 'paid_social', weight: 5, conversion: 0.9, paid: true },
  { source: 'instagram', medium: 'paid_social', weight: 3, conversion: 0.8, paid: true },
  { source: 'mailchimp', medium: 'email', weight: 6, conversion: 2.2, paid: false },
  { source: 'newsletter', medium: 'email', weight: 1.5, conversion: 2.0, paid: false },
  { source: 'duckduckgo', medium: 'organic', weight: 1, conversion: 1.0, paid: false },
  { source: 'news.ycombinator.com', medium: 'referral', weight: 0.3, conversion: 0.2, paid: false },
  { source: 'partner-blog.example', medium: 'affiliate', weight: 1.2, conversion: 1.6, paid: false },
  { source: 'youtube.com', medium: 'referral', weight: 1.5, conversion: 0.4, paid: false },
  { source: 'google', medium: 'display', weight: 2, conversion: 0.3, paid: true },
];

/** GA4 deviceCategory values and their share of sessions, engagement and conversion. */
export const DEVICES: ReadonlyArray<{ device: string; weight: number; engagement: number; conversion: number }> = [
  { device: 'mobile', weight: 61, engagement: 0.85, conversion: 0.7 },
  { device: 'desktop', weight: 35, engagement: 1.25, conversion: 1.6 },
  { device: 'tablet', weight: 4, engagement: 1.0, conversion: 1.0 },
];

/** Countries (ISO names as GA4 reports them) and their share of a brand's foreign traffic. */
export const COUNTRIES: ReadonlyArray<{ country: string; code: string; weight: number }> = [
  { country: 'United States', code: 'US', weight: 30 },
  { country: 'United Kingdom', code: 'GB', weight: 12 },
  { country: 'Canada', code: 'CA', weight: 7 },
  { country: 'Australia', code: 'AU', weight: 7 },
  { country: 'Germany', code: 'DE', weight: 6 },
  { country: 'France', code: 'FR', weight: 4 },
  { country: 'Ireland', code: 'IE', weight: 2.5 },
  { country: 'Netherlands', code: 'NL', weight: 2.5 },
  { country: 'New Zealand', code: 'NZ', weight: 2 },
  { country: 'India', code: 'IN', weight: 4 },
  { country: 'Spain', code: 'ES', weight: 2 },
  { country: 'Italy', code: 'IT', weight: 2 },
  { country: 'Sweden', code: 'SE', weight: 1.2 },
  { country: 'Japan', code: 'JP', weight: 1.5 },
  { country: 'Singapore', code: 'SG', weight: 1.2 },
  { country: 'Mexico', code: 'MX', weight: 1.5 },
  { country: 'Brazil', code: 'BR', weight: 1.5 },
  { country: 'South Africa', code: 'ZA', weight: 1 },
  { country: 'Poland', code: 'PL', weight: 1 },
  // GA4 writes "(not set)" when it cannot place a session (VPNs, privacy relays).
  { country: '(not set)', code: '', weight: 0.8 },
];

/** Site sections with typical page titles, for web.page_daily. */
export const PAGE_SECTIONS: ReadonlyArray<{ section: string; group: string; pages: number; weight: number; titles: readonly string[] }> = [
  { section: '', group: 'Home', pages: 1, weight: 12, titles: ['Home'] },
  { section: 'products', group: 'Product', pages: 60, weight: 28, titles: ['Product', 'Collection', 'Gift set', 'Bundle', 'Limited edition'] },
  { section: 'blog', group: 'Blog', pages: 70, weight: 18, titles: ['How to', 'Guide to', 'Behind the scenes:', 'Ten ideas for', 'Why we'] },
  { section: 'stores', group: 'Store locator', pages: 12, weight: 5, titles: ['Store'] },
  { section: 'help', group: 'Support', pages: 15, weight: 6, titles: ['Help:', 'FAQ:', 'Returns and', 'Shipping to'] },
  { section: 'about', group: 'About', pages: 5, weight: 3, titles: ['About us', 'Careers', 'Press', 'Sustainability', 'Contact'] },
  { section: 'checkout', group: 'Checkout', pages: 4, weight: 6, titles: ['Cart', 'Checkout', 'Payment', 'Order confirmed'] },
];

const TOPIC_WORDS = ['autumn', 'winter', 'spring', 'summer', 'classic', 'signature', 'everyday', 'travel', 'family', 'local', 'organic', 'premium'];
const THINGS = ['collection', 'starter kit', 'essentials', 'favourites', 'gift guide', 'recipes', 'routines', 'checklist', 'stories', 'picks'];

/** Page paths and titles of one property, fixed per brand. */
export function pagesOf(brandIndex: number): Array<{ path: string; title: string; group: string; weight: number }> {
  const pages: Array<{ path: string; title: string; group: string; weight: number }> = [];
  for (const s of PAGE_SECTIONS) {
    for (let i = 0; i < s.pages; i++) {
      const word = TOPIC_WORDS[(i * 7 + brandIndex) % TOPIC_WORDS.length];
      const thing = THINGS[(i * 3 + brandIndex * 5) % THINGS.length];
      const slug = `${word}-${thing.replace(/ /g, '-')}-${i + 1}`;
      const path = s.section === '' ? '/' : s.pages <= 5 ? `/${s.section}/${s.titles[i].toLowerCase().replace(/ /g, '-')}` : `/${s.section}/${slug}`;
      const title = s.section === '' ? 'Home' : s.pages <= 5 ? s.titles[i] : `${s.titles[i % s.titles.length]} ${word} ${thing}`;
      // Zipf-like popularity within a section.
      pages.push({ path, title, group: s.group, weight: s.weight / s.pages / Math.pow(i + 1, 0.35) });
    }
  }
  return pages;
}

/** Mailchimp audiences (lists): one or two per brand. */
export const EMAIL_LISTS: ReadonlyArray<{ listId: string; name: string; brand: Brand; startMembers: number; growth: number }> = [
  { listId: 'ab6c0d6df6', name: 'Northwind Coffee Club', brand: BRANDS[0], startMembers: 48_200, growth: 0.18 },
  { listId: 'c41f8e2a90', name: 'Lumen Outdoor Newsletter', brand: BRANDS[1], startMembers: 126_500, growth: 0.12 },
  { listId: '5d07be31c2', name: 'Lumen Outdoor Pro Deals', brand: BRANDS[1], startMembers: 18_900, growth: 0.3 },
  { listId: '9e2a71f4d8', name: 'Harbor & Vine Cellar Notes', brand: BRANDS[2], startMembers: 22_400, growth: 0.1 },
  { listId: 'f3b8c60e17', name: 'Kestrel Bank Updates', brand: BRANDS[3], startMembers: 210_000, growth: 0.05 },
];

/** Mailchimp campaign types (`type` of /reports) and their share. */
export const CAMPAIGN_TYPES: ReadonlyArray<readonly [string, number]> = [['regular', 78], ['plaintext', 6], ['absplit', 6], ['rss', 6], ['variate', 4]];

/** Themes that campaign titles and subject lines are built from. */
export const CAMPAIGN_THEMES = ['Weekly Roundup', 'New Arrivals', 'Member Offer', 'Seasonal Guide', 'Product Spotlight', 'Event Invite', 'Last Chance', 'Customer Stories', 'Tips & Tricks', 'Welcome Back'];

/** Listening topics (Crimson Hexagon categories) per monitor. */
export const TOPICS = ['product', 'price', 'customer service', 'campaign', 'store experience', 'sustainability', 'delivery', 'competitors'] as const;

/** Sources of mentions and their share of volume and average potential reach per mention (null: not reported). */
export const MENTION_SOURCES: ReadonlyArray<{ source: string; weight: number; reach: number | null }> = [
  { source: 'twitter', weight: 38, reach: 1_800 },
  { source: 'instagram', weight: 16, reach: 3_200 },
  { source: 'facebook', weight: 12, reach: 900 },
  { source: 'news', weight: 6, reach: 45_000 },
  { source: 'blogs', weight: 8, reach: 2_500 },
  { source: 'reddit', weight: 9, reach: 600 },
  { source: 'forums', weight: 6, reach: null },
  { source: 'reviews', weight: 5, reach: null },
];

/** Sentiment classes of listening results. */
export const SENTIMENTS = ['positive', 'neutral', 'negative'] as const;

/** One Crimson Hexagon monitor per brand. */
export const MONITORS = BRANDS.map((brand, i) => ({ monitorId: String(9_846_117_000 + i * 389), name: `${brand.name} – brand monitor`, brand, volume: 40 * brand.scale }));

/** Unmetric competitive sets: each client benchmarked against two competitors. */
export const COMPETITIVE_SETS: ReadonlyArray<{ name: string; brands: ReadonlyArray<{ brand: string; isClient: boolean; scale: number }> }> = [
  {
    name: 'Coffee retail UK',
    brands: [
      { brand: 'Northwind Coffee', isClient: true, scale: 1.0 },
      { brand: 'Copperpot Roasters', isClient: false, scale: 1.4 },
      { brand: 'Bean & Barrel', isClient: false, scale: 0.7 },
    ],
  },
  {
    name: 'Outdoor retail NA',
    brands: [
      { brand: 'Lumen Outdoor', isClient: true, scale: 1.8 },
      { brand: 'Ridgeline Supply', isClient: false, scale: 2.4 },
      { brand: 'Trailcraft', isClient: false, scale: 1.1 },
    ],
  },
];

/** Platforms without a connector, whose posts are uploaded by hand. */
export const MANUAL_PLATFORMS = ['linkedin', 'tiktok'] as const;

/** Sites without GA4, whose sessions are uploaded by hand, and their channels. */
export const MANUAL_SITES = ['events.lumenoutdoor.com', 'legacy.kestrelbank.com.au'] as const;
/** Default channel groups of the manual session exports. */
export const MANUAL_CHANNELS = ['Organic Search', 'Direct', 'Referral', 'Email', 'Paid Search', 'Social'] as const;

/** Outlets of press clippings for the manual listening upload. */
export const OUTLETS: ReadonlyArray<{ outlet: string; type: string; reach: number }> = [
  { outlet: 'The Guardian', type: 'newspaper', reach: 1_200_000 },
  { outlet: 'BBC Radio 4', type: 'broadcast', reach: 2_500_000 },
  { outlet: 'The Globe and Mail', type: 'newspaper', reach: 800_000 },
  { outlet: 'Sydney Morning Herald', type: 'newspaper', reach: 900_000 },
  { outlet: 'Outside Magazine', type: 'magazine', reach: 450_000 },
  { outlet: 'Decanter', type: 'magazine', reach: 220_000 },
  { outlet: 'Financial Review', type: 'newspaper', reach: 600_000 },
  { outlet: 'Local news roundup', type: 'online', reach: 60_000 },
  { outlet: 'Trade Weekly', type: 'trade press', reach: 35_000 },
  { outlet: 'Morning Show', type: 'broadcast', reach: 1_500_000 },
];
