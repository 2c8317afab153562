/** Formatters by time zone: building one is far dearer than using it. */
const formatters = new Map<string, Intl.DateTimeFormat>();
const formattersMax = 512;

/**
 * The calendar day (YYYY-MM-DD) that instant `atMs` falls on in the IANA time zone `timeZone`.
 * The daily cash-out maximum counts per such day, so a day is 23 or 25 hours long across a
 * daylight-saving change, as the creator's own calendar has it.
 */
export function calendarDay(atMs: number, timeZone: string): string {
  let format = formatters.get(timeZone);
  if (!format) {
    // en-CA writes dates as YYYY-MM-DD.
    format = new Intl.DateTimeFormat("en-CA", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
    });
    if (formatters.size >= formattersMax) formatters.clear();
    formatters.set(timeZone, format);
  }
  return format.format(new Date(atMs));
}
