import type { Enrichment } from '../types';

export type CampaignFields = Pick<
  Enrichment,
  'utmSource' | 'utmMedium' | 'utmCampaign' | 'utmTerm' | 'utmContent'
>;

const NONE: CampaignFields = {
  utmSource: null,
  utmMedium: null,
  utmCampaign: null,
  utmTerm: null,
  utmContent: null,
};

/** The campaign from the `utm_*` parameters of a page URL; nulls when there are none or the URL does not parse. */
export function campaignFromUrl(url: string | undefined): CampaignFields {
  // Most page URLs carry no campaign; skipping the URL parse for them is most of this function's cost.
  if (url === undefined || !url.includes('utm_')) return NONE;
  let params: URLSearchParams;
  try {
    params = new URL(url).searchParams;
  } catch {
    return NONE;
  }
  const get = (name: string) => {
    const value = params.get(name);
    return value === null || value === '' ? null : value;
  };
  return {
    utmSource: get('utm_source'),
    utmMedium: get('utm_medium'),
    utmCampaign: get('utm_campaign'),
    utmTerm: get('utm_term'),
    utmContent: get('utm_content'),
  };
}
