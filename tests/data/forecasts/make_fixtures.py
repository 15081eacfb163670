"""Make the small forecast files the forecast tests read (run once; the files are committed).

They are written by hand in each service's format from the embedded Shanghai typical year (15-16 July), moved to
2026: no network was used, so they are not captured responses. Open-Meteo: the forecast API's JSON (hourly
radiation as the preceding hour's mean, so each time labels the end of its hour; local times with
utc_offset_seconds; wind in km/h, the API's default) and the ensemble API's (members as `_memberNN` keys beside the
control). CSV: solarmap's forecast CSV, GHI only, interval-start labels with offsets.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd

from solarmap.sources.weather import read_embedded

HERE = Path(__file__).parent
w = read_embedded().data.loc["2023-07-15":"2023-07-16"].copy()
w.index = w.index + (pd.Timestamp("2026-07-15", tz=w.index.tz) - pd.Timestamp("2023-07-15", tz=w.index.tz))
rain = np.ones(len(w))
rain[30:40] = 0.35  # a cloudy afternoon on the second day, so the file is not a typical-year copy
ends = [(t + pd.Timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M") for t in w.index]
r1 = lambda a: [round(float(v), 1) for v in a]  # noqa: E731
hourly = {"time": ends, "shortwave_radiation": r1(w.ghi * rain), "direct_normal_irradiance": r1(w.dni * rain),
          "diffuse_radiation": r1(w.dhi * np.where(rain < 1, 1.2, 1.0)), "temperature_2m": r1(w.temp_air),
          "wind_speed_10m": r1(w.wind_speed * 3.6)}
doc = {"latitude": 31.2, "longitude": 121.475, "generationtime_ms": 0.05, "utc_offset_seconds": 28800,
       "timezone": "Asia/Shanghai", "timezone_abbreviation": "GMT+8", "elevation": 4.0,
       "hourly_units": {"time": "iso8601", "shortwave_radiation": "W/m²", "direct_normal_irradiance": "W/m²",
                        "diffuse_radiation": "W/m²", "temperature_2m": "°C", "wind_speed_10m": "km/h"},
       "hourly": hourly}
(HERE / "open_meteo_dapuqiao.json").write_text(json.dumps(doc, ensure_ascii=False) + "\n", encoding="utf-8")

ens = {"time": ends, "shortwave_radiation": r1(w.ghi * rain), "temperature_2m": r1(w.temp_air),
       "wind_speed_10m": r1(w.wind_speed * 3.6)}
for k, f in enumerate((0.55, 0.8, 1.05), start=1):
    ens[f"shortwave_radiation_member{k:02d}"] = r1(w.ghi * rain * f)
    ens[f"temperature_2m_member{k:02d}"] = r1(w.temp_air + (k - 2) * 0.8)
doc_e = {**doc, "hourly_units": {"time": "iso8601", "shortwave_radiation": "W/m²", "temperature_2m": "°C",
                                 "wind_speed_10m": "km/h"}, "hourly": ens}
(HERE / "open_meteo_ensemble.json").write_text(json.dumps(doc_e, ensure_ascii=False) + "\n", encoding="utf-8")

csv = pd.DataFrame({"time": [t.isoformat() for t in w.index], "ghi": r1(w.ghi * rain), "temp_air": r1(w.temp_air),
                    "wind_speed": r1(w.wind_speed)})
csv.to_csv(HERE / "forecast_ghi_only.csv", index=False, lineterminator="\n")
