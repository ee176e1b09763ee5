"""City coordinates for the simulator's locations, so sign-ins carry ``location.geoCoordinates`` as
Entra writes them (and travel between two sign-ins has a distance). Public city-centre coordinates,
rounded to two decimals, as GeoIP databases place an address at its city."""

from __future__ import annotations

COORDINATES: dict[str, tuple[float, float]] = {
    "Seattle": (47.61, -122.33),
    "Chicago": (41.88, -87.63),
    "New York": (40.71, -74.01),
    "Austin": (30.27, -97.74),
    "Denver": (39.74, -104.99),
    "Atlanta": (33.75, -84.39),
    "San Jose": (37.34, -121.89),
    "Boston": (42.36, -71.06),
    "Phoenix": (33.45, -112.07),
    "Columbus": (39.96, -83.0),
    "Portland": (45.52, -122.68),
    "Miami": (25.76, -80.19),
    "Toronto": (43.65, -79.38),
    "Vancouver": (49.28, -123.12),
    "Montreal": (45.5, -73.57),
    "London": (51.51, -0.13),
    "Manchester": (53.48, -2.24),
    "Leeds": (53.8, -1.55),
    "Bristol": (51.45, -2.59),
    "Berlin": (52.52, 13.4),
    "Munich": (48.14, 11.58),
    "Frankfurt am Main": (50.11, 8.68),
    "Hamburg": (53.55, 9.99),
    "Paris": (48.86, 2.35),
    "Lyon": (45.76, 4.84),
    "Marseille": (43.3, 5.37),
    "Lille": (50.63, 3.06),
    "Madrid": (40.42, -3.7),
    "Barcelona": (41.39, 2.17),
    "Milan": (45.46, 9.19),
    "Rome": (41.9, 12.5),
    "Amsterdam": (52.37, 4.9),
    "Rotterdam": (51.92, 4.48),
    "Warsaw": (52.23, 21.01),
    "Krakow": (50.06, 19.94),
    "Stockholm": (59.33, 18.07),
    "Gothenburg": (57.71, 11.97),
    "Sao Paulo": (-23.55, -46.63),
    "Rio De Janeiro": (-22.91, -43.17),
    "Mumbai": (19.08, 72.88),
    "Bengaluru": (12.97, 77.59),
    "Delhi": (28.7, 77.1),
    "Tokyo": (35.68, 139.69),
    "Osaka": (34.69, 135.5),
    "Sydney": (-33.87, 151.21),
    "Melbourne": (-37.81, 144.96),
    "Cairo": (30.04, 31.24),
    "Istanbul": (41.01, 28.98),
    "Moscow": (55.76, 37.62),
}


def coordinates(city: str) -> dict[str, float | None] | None:
    """Entra's ``geoCoordinates`` object for a city, or None when the city is unknown."""
    if city not in COORDINATES:
        return None
    lat, lon = COORDINATES[city]
    return {"altitude": None, "latitude": lat, "longitude": lon}
