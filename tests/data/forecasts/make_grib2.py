"""Make ecmwf_ens_dapuqiao.grib2: a GRIB2 file shaped like ECMWF open data's ensemble (run once with eccodes; the
file is committed). Three perturbed members (perturbationNumber 1-3) on a 0.25° 3 × 3 grid around Huangpu, steps
0-48 h from 2026-07-14 16:00 UTC (00:00 in Shanghai): ssrd (paramId 169, J m-2 accumulated from the start,
template 4.11) and 2t (paramId 167, K at 2 m, template 4.1). The irradiance is the embedded typical year's 15-16
July times 0.7, 1.0 and 1.15; made by hand, not downloaded. (eccodes 2.50 may abort at interpreter exit after
writing; the file is complete by then: reading it back through cfgrib, as the tests do, exits cleanly.)
"""

from pathlib import Path

import eccodes
import numpy as np

from solarmap.sources.weather import read_embedded

GRID = {"Ni": 3, "Nj": 3, "latitudeOfFirstGridPointInDegrees": 31.5, "latitudeOfLastGridPointInDegrees": 31.0,
        "longitudeOfFirstGridPointInDegrees": 121.25, "longitudeOfLastGridPointInDegrees": 121.75,
        "iDirectionIncrementInDegrees": 0.25, "jDirectionIncrementInDegrees": 0.25}


def message(out, *, member: int, n_members: int, step: int, param: str, value: float) -> None:
    h = eccodes.codes_grib_new_from_samples("GRIB2")
    keys = {"centre": "ecmf", "dataDate": 20260714, "dataTime": 1600}
    if param == "ssrd":
        keys |= {"productDefinitionTemplateNumber": 11, "typeOfFirstFixedSurface": 1, "paramId": 169,
                 "stepRange": f"0-{step}"}
    else:
        keys |= {"productDefinitionTemplateNumber": 1, "paramId": 167, "typeOfFirstFixedSurface": 103,
                 "scaledValueOfFirstFixedSurface": 2, "stepRange": str(step)}
    keys |= {"typeOfEnsembleForecast": 3, "perturbationNumber": member, "numberOfForecastsInEnsemble": n_members,
             "gridType": "regular_ll", **GRID}
    for k, v in keys.items():
        eccodes.codes_set(h, k, v)
    eccodes.codes_set_values(h, np.full(9, value))
    eccodes.codes_write(h, out)
    eccodes.codes_release(h)


def main() -> None:
    w = read_embedded().data.loc["2023-07-15":"2023-07-16"]
    ghi, temp = w["ghi"].to_numpy(), w["temp_air"].to_numpy()
    acc = np.concatenate([[0.0], np.cumsum(ghi * 3600.0)])  # steps 0 … 48
    scales = [0.7, 1.0, 1.15]
    with open(Path(__file__).parent / "ecmwf_ens_dapuqiao.grib2", "wb") as out:
        for m, scale in enumerate(scales, start=1):
            for step in range(49):
                message(out, member=m, n_members=len(scales), step=step, param="ssrd", value=acc[step] * scale)
                message(out, member=m, n_members=len(scales), step=step, param="2t", value=temp[min(step, 47)] + 273.15)


if __name__ == "__main__":
    main()
