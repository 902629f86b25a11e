"""Countries, regions and mobile operators the simulated catalog is built from."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["COUNTRIES", "GLOBAL", "REGIONS", "Country", "Region"]


@dataclass(frozen=True)
class Country:
    code: str
    name: str
    regions: tuple[str, ...]
    price_index: int  # reseller cost in cents of a 1 GB / 7 day plan
    operators: tuple[str, ...]
    major: bool


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    price_index: int


def _c(code: str, name: str, regions: str, index: int, *ops: str, major: bool = False) -> Country:
    return Country(code, name, tuple(regions.split()), index, ops, major)


COUNTRIES: tuple[Country, ...] = (
    # Europe
    _c("GB", "United Kingdom", "EU", 400, "EE", "Vodafone", "O2", "Three", major=True),
    _c("FR", "France", "EU", 380, "Orange", "SFR", "Bouygues Telecom", "Free Mobile", major=True),
    _c("DE", "Germany", "EU", 390, "Telekom", "Vodafone", "O2", major=True),
    _c("IT", "Italy", "EU", 380, "TIM", "Vodafone", "WindTre", "Iliad", major=True),
    _c("ES", "Spain", "EU", 370, "Movistar", "Vodafone", "Orange", major=True),
    _c("PT", "Portugal", "EU", 380, "MEO", "NOS", "Vodafone"),
    _c("NL", "Netherlands", "EU", 390, "KPN", "Vodafone", "Odido"),
    _c("BE", "Belgium", "EU", 400, "Proximus", "Orange", "BASE"),
    _c("CH", "Switzerland", "EU", 520, "Swisscom", "Sunrise", "Salt", major=True),
    _c("AT", "Austria", "EU", 390, "A1", "Magenta", "Drei"),
    _c("IE", "Ireland", "EU", 400, "Vodafone", "Three", "eir"),
    _c("SE", "Sweden", "EU", 410, "Telia", "Tele2", "Telenor"),
    _c("NO", "Norway", "EU", 430, "Telenor", "Telia", "Ice"),
    _c("DK", "Denmark", "EU", 410, "TDC NET", "Telenor", "Telia", "3"),
    _c("FI", "Finland", "EU", 410, "Elisa", "DNA", "Telia"),
    _c("PL", "Poland", "EU", 360, "Plus", "Orange", "Play", "T-Mobile"),
    _c("CZ", "Czechia", "EU", 380, "O2", "T-Mobile", "Vodafone"),
    _c("GR", "Greece", "EU", 400, "Cosmote", "Vodafone", "Nova", major=True),
    _c("HU", "Hungary", "EU", 390, "Telekom", "Yettel", "One"),
    _c("RO", "Romania", "EU", 370, "Orange", "Vodafone", "Digi"),
    _c("HR", "Croatia", "EU", 400, "Hrvatski Telekom", "A1", "Telemach"),
    _c("IS", "Iceland", "EU", 550, "Síminn", "Vodafone", "Nova"),
    _c("TR", "Turkey", "EU ME", 450, "Turkcell", "Vodafone", "Türk Telekom", major=True),
    # Asia
    _c("JP", "Japan", "ASIA", 450, "NTT Docomo", "SoftBank", "KDDI au", major=True),
    _c("KR", "South Korea", "ASIA", 420, "SK Telecom", "KT", "LG U+", major=True),
    _c("CN", "China", "ASIA", 520, "China Unicom", "China Mobile", major=True),
    _c("HK", "Hong Kong", "ASIA", 380, "CSL", "SmarTone", "3HK", "China Mobile Hong Kong"),
    _c("MO", "Macao", "ASIA", 450, "CTM", "3 Macau"),
    _c("TW", "Taiwan", "ASIA", 400, "Chunghwa Telecom", "Taiwan Mobile", "FarEasTone"),
    _c("SG", "Singapore", "ASIA", 380, "Singtel", "StarHub", "M1", major=True),
    _c("MY", "Malaysia", "ASIA", 320, "Maxis", "CelcomDigi", "U Mobile"),
    _c("TH", "Thailand", "ASIA", 300, "AIS", "TrueMove H", "dtac", major=True),
    _c("VN", "Vietnam", "ASIA", 300, "Viettel", "Vinaphone", "MobiFone", major=True),
    _c("ID", "Indonesia", "ASIA", 330, "Telkomsel", "Indosat Ooredoo", "XL Axiata", major=True),
    _c("PH", "Philippines", "ASIA", 380, "Smart", "Globe"),
    _c("IN", "India", "ASIA", 350, "Airtel", "Jio", "Vi", major=True),
    _c("KH", "Cambodia", "ASIA", 420, "Cellcard", "Smart Axiata", "Metfone"),
    _c("LA", "Laos", "ASIA", 520, "Unitel", "Lao Telecom"),
    _c("LK", "Sri Lanka", "ASIA", 520, "Dialog", "Mobitel"),
    _c("NP", "Nepal", "ASIA", 600, "Ncell", "Nepal Telecom"),
    _c("BD", "Bangladesh", "ASIA", 600, "Grameenphone", "Robi"),
    _c("PK", "Pakistan", "ASIA", 650, "Jazz", "Zong"),
    _c("KZ", "Kazakhstan", "ASIA", 600, "Beeline", "Kcell"),
    _c("UZ", "Uzbekistan", "ASIA", 650, "Beeline", "Ucell"),
    # Middle East
    _c("AE", "United Arab Emirates", "ME", 700, "e&", "du", major=True),
    _c("SA", "Saudi Arabia", "ME", 650, "stc", "Mobily", "Zain"),
    _c("QA", "Qatar", "ME", 700, "Ooredoo", "Vodafone"),
    _c("KW", "Kuwait", "ME", 700, "Zain", "Ooredoo", "stc"),
    _c("BH", "Bahrain", "ME", 750, "Batelco", "Zain", "stc"),
    _c("OM", "Oman", "ME", 750, "Omantel", "Ooredoo"),
    _c("JO", "Jordan", "ME", 700, "Zain", "Orange", "Umniah"),
    _c("IL", "Israel", "ME", 500, "Partner", "Cellcom", "Pelephone"),
    # Africa
    _c("ZA", "South Africa", "AF", 650, "Vodacom", "MTN", "Cell C"),
    _c("EG", "Egypt", "AF ME", 600, "Vodafone", "Orange", "Etisalat"),
    _c("MA", "Morocco", "AF", 650, "Maroc Telecom", "Orange", "inwi"),
    _c("KE", "Kenya", "AF", 800, "Safaricom", "Airtel"),
    _c("NG", "Nigeria", "AF", 950, "MTN", "Airtel", "Glo"),
    _c("TZ", "Tanzania", "AF", 900, "Vodacom", "Airtel"),
    _c("GH", "Ghana", "AF", 950, "MTN", "Telecel"),
    _c("TN", "Tunisia", "AF", 800, "Ooredoo", "Orange", "Tunisie Telecom"),
    _c("SN", "Senegal", "AF", 950, "Orange", "Free"),
    _c("UG", "Uganda", "AF", 950, "MTN", "Airtel"),
    _c("MU", "Mauritius", "AF", 850, "my.t", "Emtel"),
    # Americas
    _c("US", "United States", "NA", 450, "AT&T", "T-Mobile", "Verizon", major=True),
    _c("CA", "Canada", "NA", 550, "Rogers", "Bell", "Telus", major=True),
    _c("MX", "Mexico", "NA LATAM", 480, "Telcel", "AT&T", "Movistar", major=True),
    _c("BR", "Brazil", "LATAM", 550, "Vivo", "Claro", "TIM", major=True),
    _c("AR", "Argentina", "LATAM", 600, "Claro", "Movistar", "Personal"),
    _c("CL", "Chile", "LATAM", 580, "Entel", "Movistar", "Claro"),
    _c("CO", "Colombia", "LATAM", 560, "Claro", "Movistar", "Tigo"),
    _c("PE", "Peru", "LATAM", 600, "Claro", "Movistar", "Entel"),
    _c("EC", "Ecuador", "LATAM", 700, "Claro", "Movistar"),
    _c("UY", "Uruguay", "LATAM", 700, "Antel", "Claro", "Movistar"),
    _c("CR", "Costa Rica", "LATAM", 650, "Kölbi", "Claro", "Liberty"),
    _c("PA", "Panama", "LATAM", 700, "Tigo", "Claro", "+Móvil"),
    _c("DO", "Dominican Republic", "LATAM", 700, "Claro", "Altice"),
    _c("GT", "Guatemala", "LATAM", 750, "Tigo", "Claro"),
    # Oceania
    _c("AU", "Australia", "OC", 450, "Telstra", "Optus", "Vodafone", major=True),
    _c("NZ", "New Zealand", "OC", 480, "One NZ", "Spark", "2degrees"),
    _c("FJ", "Fiji", "OC", 1200, "Vodafone", "Digicel"),
)

REGIONS: tuple[Region, ...] = (
    Region("EU", "Europe", 420),
    Region("ASIA", "Asia", 650),
    Region("ME", "Middle East", 900),
    Region("AF", "Africa", 1500),
    Region("NA", "North America", 600),
    Region("LATAM", "Latin America", 1100),
    Region("OC", "Oceania", 600),
)

GLOBAL = Region("GL", "Global", 1300)
